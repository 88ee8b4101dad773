import type { TokenRecord } from '../grants/token-record.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { EventType, OutboundEvent } from '../store/event-types.js';
import type { ExpiryNotice, GrantStore } from '../store/grant-store.js';
import type { FleetLock } from './fleet-lock.js';

export interface FleetSchedulerOptions {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly lock: FleetLock;
  readonly logger: Logger;
  /** How often to look for due work. */
  readonly intervalMs: number;
  /** How often to sweep for tokens unused past their org's `revoke_unused_after_days`. */
  readonly unusedSweepIntervalMs: number;
  readonly now?: () => number;
}

/** Notices settled per store call, and at most this many calls per run. */
const NOTICE_BATCH = 100;
const NOTICE_BATCHES_PER_RUN = 50;
const DAY_MS = 86_400_000;
const ACTOR = { kind: 'system', source: 'scheduler' } as const;

/**
 * The fleet-wide scheduler: on the instance holding the lease (`FleetLock`), it turns due
 * expiry notices into `token.expiring` (7 days and 1 day before) and `token.expired`
 * events, and revokes tokens unused past their org's `revoke_unused_after_days`.
 *
 * A notice is settled by the store together with its event, exactly once across the fleet
 * (`settleExpiryNotice`). A notice overtaken by a later one (the 7-day notice of a token
 * created 3 days before its expiry, or any notice of a token already expired) is settled
 * without an event, so a token never gets two stale warnings at once; a notice of a token
 * that is not active (pending, denied, revoked) or no longer exists goes the same way.
 */
export class FleetScheduler {
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  #lastSweep = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(private readonly options: FleetSchedulerOptions) {
    if (!Number.isInteger(options.intervalMs) || options.intervalMs <= 0) {
      throw new TypeError(`intervalMs must be a positive integer, got ${options.intervalMs}`);
    }
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    if (this.#closed || this.#timer !== null) return;
    const tick = (): void => {
      this.#running = this.runOnce().finally(() => {
        if (!this.#closed) this.#timer = setTimeout(tick, this.options.intervalMs).unref();
      });
    };
    tick();
  }

  /** One run: take or renew the lease, then settle due notices and, when due, sweep unused tokens. */
  async runOnce(): Promise<void> {
    const { lock, logger } = this.options;
    try {
      if (!(await lock.acquire())) return;
      await this.#settleNotices(this.#now());
      const now = this.#now();
      if (now - this.#lastSweep >= this.options.unusedSweepIntervalMs) {
        await this.#revokeUnused(now);
        this.#lastSweep = now;
      }
    } catch (err) {
      // The next run tries again: nothing is settled until the store says so.
      logger.warn({ err }, 'scheduler run failed');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
    await this.options.lock.release().catch(() => {});
  }

  async #settleNotices(now: number): Promise<void> {
    const { store } = this.options;
    for (let batch = 0; batch < NOTICE_BATCHES_PER_RUN && !this.#closed; batch++) {
      const due = await store.dueExpiryNotices(now, NOTICE_BATCH);
      for (const notice of due) {
        const token = await store.getToken(notice.tokenId);
        const event = token === null ? null : noticeEvent(notice, token, now);
        const settled = await store.settleExpiryNotice(notice, event === null ? [] : [event]);
        if (settled && event !== null) {
          this.options.logger.info({ token_id: notice.tokenId, event: event.type }, 'expiry notice sent');
        }
      }
      if (due.length < NOTICE_BATCH) return;
    }
  }

  async #revokeUnused(now: number): Promise<void> {
    const { store, audit, lock, logger } = this.options;
    const active = await store.listTokens({ status: 'active' });
    const policies = new Map<string, number | null>();
    for (const token of active) {
      if (this.#closed) return;
      // An org decides for the tokens it owns; a classic token also reaches other orgs and
      // the user's account, so no one org's policy revokes it.
      if (token.kind !== 'fine_grained') continue;
      // An expired token opens nothing already: revoking it would only add noise.
      if (!(Date.parse(token.expiresAt) > now)) continue;
      const org = token.resourceOwner;
      let days = policies.get(org);
      if (days === undefined) {
        days = (await store.getOrgPolicy(org))?.revokeUnusedAfterDays ?? null;
        policies.set(org, days);
      }
      if (days === null) continue;
      const lastUsed = readInstant(await store.getLastUsed(token.id));
      const since = lastUsed ?? Date.parse(token.createdAt);
      if (!(now - since >= days * DAY_MS)) continue;
      // Renewed just before the write: the lease is ours for the whole of it.
      if (!(await lock.acquire())) return;
      const reason = `unused for ${days} days (policy of organization ${org})`;
      const revoked = await store.setTokenStatus(token.id, 'revoked', reason);
      if (revoked === null) continue;
      await audit.append({
        actor: ACTOR,
        action: 'token.revoke',
        org,
        tokenId: token.id,
        user: token.user,
        reason,
        details: {
          previous_status: token.status,
          policy: 'revoke_unused_after_days',
          revoke_unused_after_days: days,
          last_used_at: lastUsed === null ? null : new Date(lastUsed).toISOString(),
        },
      });
      logger.info({ token_id: token.id, org, days }, 'token revoked: unused');
    }
  }
}

/** The event a due notice means, or null when it is settled without one. */
function noticeEvent(notice: ExpiryNotice, token: TokenRecord, now: number): OutboundEvent | null {
  const expires = Date.parse(token.expiresAt);
  if (token.status !== 'active' || Number.isNaN(expires)) return null;
  let type: EventType;
  if (notice.kind === 'expired') {
    type = 'token.expired';
  } else {
    // Overtaken: the token expired already, or (7-day notice) the 1-day notice is due too.
    if (expires <= now) return null;
    if (notice.kind === 'expiring_7d' && expires - DAY_MS <= now) return null;
    type = 'token.expiring';
  }
  const org = token.kind === 'fine_grained' ? token.resourceOwner : null;
  return {
    type,
    timestamp: new Date(now).toISOString(),
    org,
    data: {
      org,
      token_id: token.id,
      user: token.user,
      reason: null,
      actor: ACTOR,
      details: {
        kind: token.kind,
        expires_at: token.expiresAt,
        ...(notice.kind === 'expired' ? {} : { days_left: notice.kind === 'expiring_7d' ? 7 : 1 }),
      },
    },
  };
}

/** A last-used instant read back from the store: anything but an instant counts as never used. */
function readInstant(raw: string | null): number | null {
  if (raw === null) return null;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : at;
}
