import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
import { deepFreeze } from './deep-freeze.js';
import { StoreConflictError, StoreUnavailableError } from './errors.js';
import type { EventSink, OutboundEvent } from './event-types.js';
import {
  EXPIRY_NOTICE_KINDS,
  EXPIRY_NOTICE_LEAD_MS,
  type ExpiryNotice,
  type GrantSnapshot,
  type GrantStore,
  type Invalidation,
  type InvalidationListener,
  type Invitation,
  type InvitationFilter,
  type TokenFilter,
} from './grant-store.js';
import { InvalidationHub } from './invalidation-hub.js';
import { compareInvitations, isLive } from './invitation-rules.js';
import { ownerState } from './owner-state.js';
import {
  encodeInvitation,
  encodeLogin,
  encodePolicy,
  encodeRole,
  encodeTokenRecord,
} from './record-codec.js';
import {
  compareByCreation,
  matchesFilter,
  normalizeFilter,
  withExpiry,
  withStatus,
} from './token-updates.js';

export interface MemoryGrantStoreOptions {
  /** Where a throwing invalidation listener is reported; by default it is rethrown asynchronously. */
  readonly onListenerError?: (err: unknown) => void;
}

/**
 * One process, no persistence: the demo, tests, and single-instance trials.
 * Stored values are frozen copies, so nothing a caller holds aliases the store.
 * Writes are checked and names lower-cased by the same codec as the Redis store's,
 * so that both accept and return the same records.
 */
export class MemoryGrantStore implements GrantStore {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #hashById = new Map<string, string>();
  /** Replaced secrets in their grace period: old hash -> token id and deadline. */
  readonly #graceAliases = new Map<string, { id: string; graceUntil: string }>();
  readonly #lastUsed = new Map<string, string>();
  readonly #policies = new Map<string, OrgPolicy>();
  readonly #members = new Map<string, Map<string, MemberRole>>();
  /** org -> user -> invitation. */
  readonly #invitations = new Map<string, Map<string, Invitation>>();
  /** The expiry index: `{id}:{kind}` -> notice. */
  readonly #notices = new Map<string, ExpiryNotice>();
  /** Where settled expiry notices' events go (the memory webhook store); none: they are dropped. */
  #events: EventSink | null = null;
  readonly #hub: InvalidationHub;
  #closed = false;

  constructor(options: MemoryGrantStoreOptions = {}) {
    this.#hub = new InvalidationHub(
      options.onListenerError ??
        ((err) =>
          queueMicrotask(() => {
            throw err;
          })),
    );
  }

  async lookup(tokenHash: string, owner: string): Promise<GrantSnapshot | null> {
    this.#assertOpen();
    const alias = this.#graceAliases.get(tokenHash);
    const current = alias === undefined ? this.#tokens.get(tokenHash) : this.#currentOf(alias.id);
    if (!current) return null;
    const token: TokenRecord = alias === undefined ? current : { ...current, graceUntil: alias.graceUntil };
    const target = token.kind === 'fine_grained' ? token.resourceOwner : owner.toLowerCase();
    const policy = this.#policies.get(target) ?? null;
    const members = this.#members.get(target);
    const registered = policy !== null || (members?.size ?? 0) > 0;
    return deepFreeze({ token, owner: ownerState(registered, policy, members?.get(token.user) ?? null) });
  }

  async createToken(tokenHash: string, input: TokenRecord): Promise<void> {
    this.#assertOpen();
    const record = encodeTokenRecord(input);
    if (this.#tokens.has(tokenHash)) throw new StoreConflictError('a token with this hash exists');
    if (this.#hashById.has(record.id)) throw new StoreConflictError(`token id ${record.id} exists`);
    this.#tokens.set(tokenHash, frozenCopy(record));
    this.#hashById.set(record.id, tokenHash);
    this.#indexExpiry(record.id, record.expiresAt);
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    this.#assertOpen();
    const hash = this.#hashById.get(id);
    return hash === undefined ? null : (this.#tokens.get(hash) ?? null);
  }

  async listTokens(input: TokenFilter): Promise<TokenRecord[]> {
    this.#assertOpen();
    const filter = normalizeFilter(input);
    return [...this.#tokens.values()].filter((r) => matchesFilter(r, filter)).sort(compareByCreation);
  }

  async setTokenStatus(id: string, status: TokenStatus, reason?: string): Promise<TokenRecord | null> {
    this.#assertOpen();
    const hash = this.#hashById.get(id);
    const current = hash === undefined ? undefined : this.#tokens.get(hash);
    if (hash === undefined || !current) return null;
    const next = frozenCopy(encodeTokenRecord(withStatus(current, status, reason, new Date())));
    this.#tokens.set(hash, next);
    this.#publish({ kind: 'token', tokenHash: hash });
    for (const [aliasHash, alias] of this.#graceAliases) {
      if (alias.id === id) this.#publish({ kind: 'token', tokenHash: aliasHash });
    }
    return next;
  }

  #currentOf(id: string): TokenRecord | undefined {
    const hash = this.#hashById.get(id);
    return hash === undefined ? undefined : this.#tokens.get(hash);
  }

  async replaceTokenSecret(
    id: string,
    newHash: string,
    expiresAt: string,
    graceUntil?: string,
  ): Promise<TokenRecord | null> {
    this.#assertOpen();
    const oldHash = this.#hashById.get(id);
    const current = oldHash === undefined ? undefined : this.#tokens.get(oldHash);
    if (oldHash === undefined || !current) return null;
    const next = frozenCopy(encodeTokenRecord(withExpiry(current, expiresAt, new Date())));
    if (this.#tokens.has(newHash) || this.#graceAliases.has(newHash)) {
      throw new StoreConflictError('a token with the new hash exists');
    }
    // A second replacement ends an earlier grace at once.
    for (const [aliasHash, alias] of this.#graceAliases) {
      if (alias.id === id) {
        this.#graceAliases.delete(aliasHash);
        this.#publish({ kind: 'token', tokenHash: aliasHash });
      }
    }
    if (graceUntil !== undefined) this.#graceAliases.set(oldHash, { id, graceUntil });
    this.#tokens.delete(oldHash);
    this.#tokens.set(newHash, next);
    this.#hashById.set(id, newHash);
    this.#indexExpiry(id, next.expiresAt);
    this.#publish({ kind: 'token', tokenHash: oldHash });
    return next;
  }

  /** Sends the events of settled expiry notices to `sink` (the memory webhook store). */
  publishEventsTo(sink: EventSink): void {
    this.#events = sink;
  }

  async dueExpiryNotices(now: number, limit: number): Promise<ExpiryNotice[]> {
    this.#assertOpen();
    return [...this.#notices.values()]
      .filter((n) => n.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, limit);
  }

  async settleExpiryNotice(notice: ExpiryNotice, events: readonly OutboundEvent[]): Promise<boolean> {
    this.#assertOpen();
    const member = `${notice.tokenId}:${notice.kind}`;
    if (this.#notices.get(member)?.dueAt !== notice.dueAt) return false;
    this.#notices.delete(member);
    if (events.length > 0) this.#events?.publish(events);
    return true;
  }

  #indexExpiry(id: string, expiresAt: string): void {
    const expires = Date.parse(expiresAt);
    for (const kind of EXPIRY_NOTICE_KINDS) {
      this.#notices.set(`${id}:${kind}`, { tokenId: id, kind, dueAt: expires - EXPIRY_NOTICE_LEAD_MS[kind] });
    }
  }

  async recordLastUsed(lastUsed: ReadonlyMap<string, string>): Promise<void> {
    this.#assertOpen();
    for (const [id, at] of lastUsed) {
      const previous = this.#lastUsed.get(id);
      // Instances flush in any order; the latest instant wins.
      if (previous === undefined || at > previous) this.#lastUsed.set(id, at);
    }
  }

  async getLastUsed(id: string): Promise<string | null> {
    this.#assertOpen();
    return this.#lastUsed.get(id) ?? null;
  }

  async getOrgPolicy(org: string): Promise<OrgPolicy | null> {
    this.#assertOpen();
    return this.#policies.get(org.toLowerCase()) ?? null;
  }

  async setOrgPolicy(org: string, policy: OrgPolicy): Promise<void> {
    this.#assertOpen();
    const name = encodeLogin(org);
    this.#policies.set(name, frozenCopy(encodePolicy(policy)));
    this.#publish({ kind: 'owner', owner: name });
  }

  async getMembers(org: string): Promise<ReadonlyMap<string, MemberRole>> {
    this.#assertOpen();
    return new Map(this.#members.get(org.toLowerCase()));
  }

  async setMember(org: string, user: string, role: MemberRole): Promise<void> {
    this.#assertOpen();
    this.#addMember(encodeLogin(org), encodeLogin(user), encodeRole(role));
  }

  async removeMember(org: string, user: string): Promise<boolean> {
    this.#assertOpen();
    const name = org.toLowerCase();
    const members = this.#members.get(name);
    const removed = members?.delete(user.toLowerCase()) ?? false;
    if (members?.size === 0) this.#members.delete(name);
    this.#publish({ kind: 'owner', owner: name });
    return removed;
  }

  async createInvitation(input: Invitation): Promise<void> {
    this.#assertOpen();
    const invitation = frozenCopy(encodeInvitation(input));
    let byUser = this.#invitations.get(invitation.org);
    if (!byUser) {
      byUser = new Map();
      this.#invitations.set(invitation.org, byUser);
    }
    byUser.set(invitation.user, invitation);
  }

  async listInvitations(filter: InvitationFilter): Promise<Invitation[]> {
    this.#assertOpen();
    const org = filter.org?.toLowerCase();
    const user = filter.user?.toLowerCase();
    const now = Date.now();
    const found: Invitation[] = [];
    for (const [name, byUser] of this.#invitations) {
      if (org !== undefined && name !== org) continue;
      for (const invitation of byUser.values()) {
        if ((user === undefined || invitation.user === user) && isLive(invitation, now))
          found.push(invitation);
      }
    }
    return found.sort(compareInvitations);
  }

  async acceptInvitation(org: string, user: string, now: number): Promise<MemberRole | null> {
    this.#assertOpen();
    const name = org.toLowerCase();
    const member = user.toLowerCase();
    const invitation = this.#invitations.get(name)?.get(member);
    if (!invitation || !isLive(invitation, now)) return null;
    this.#removeInvitation(name, member);
    this.#addMember(name, member, invitation.role);
    return invitation.role;
  }

  async deleteInvitation(org: string, user: string): Promise<boolean> {
    this.#assertOpen();
    const name = org.toLowerCase();
    const member = user.toLowerCase();
    const invitation = this.#invitations.get(name)?.get(member);
    this.#removeInvitation(name, member);
    // One past its expiry is already gone, as a Redis key expired at that instant would be.
    return invitation !== undefined && isLive(invitation, Date.now());
  }

  isSynchronized(): boolean {
    // One process: every change is seen by the listeners as it happens.
    return true;
  }

  onInvalidate(listener: InvalidationListener): void {
    this.#hub.add(listener);
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #addMember(org: string, user: string, role: MemberRole): void {
    let members = this.#members.get(org);
    if (!members) {
      members = new Map();
      this.#members.set(org, members);
    }
    members.set(user, role);
    // As in Redis: the first member registers the org for good, so removing the
    // last member never turns it back into an unregistered owner.
    if (!this.#policies.has(org)) this.#policies.set(org, frozenCopy(DEFAULT_ORG_POLICY));
    this.#publish({ kind: 'owner', owner: org });
  }

  #removeInvitation(org: string, user: string): void {
    const byUser = this.#invitations.get(org);
    byUser?.delete(user);
    if (byUser?.size === 0) this.#invitations.delete(org);
  }

  // Deferred like a message from Redis: a listener never runs inside the writer's call.
  #publish(event: Invalidation): void {
    queueMicrotask(() => this.#hub.emit(event));
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError({ cause: new Error('store closed') });
  }
}

function frozenCopy<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}
