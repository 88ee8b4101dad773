import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
import { deepFreeze } from './deep-freeze.js';
import { StoreConflictError, StoreUnavailableError } from './errors.js';
import type {
  GrantSnapshot,
  GrantStore,
  Invalidation,
  InvalidationListener,
  TokenFilter,
} from './grant-store.js';
import { InvalidationHub } from './invalidation-hub.js';
import { ownerState } from './owner-state.js';
import { compareByCreation, matchesFilter, withExpiry, withStatus } from './token-updates.js';

export interface MemoryGrantStoreOptions {
  /** Where a throwing invalidation listener is reported; by default it is rethrown asynchronously. */
  readonly onListenerError?: (err: unknown) => void;
}

/**
 * One process, no persistence: the demo, tests, and single-instance trials.
 * Stored values are frozen copies, so nothing a caller holds aliases the store.
 */
export class MemoryGrantStore implements GrantStore {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #hashById = new Map<string, string>();
  readonly #lastUsed = new Map<string, string>();
  readonly #policies = new Map<string, OrgPolicy>();
  readonly #members = new Map<string, Map<string, MemberRole>>();
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
    const token = this.#tokens.get(tokenHash);
    if (!token) return null;
    const target = token.kind === 'fine_grained' ? token.resourceOwner : owner;
    const policy = this.#policies.get(target) ?? null;
    const members = this.#members.get(target);
    const registered = policy !== null || (members?.size ?? 0) > 0;
    return deepFreeze({ token, owner: ownerState(registered, policy, members?.get(token.user) ?? null) });
  }

  async createToken(tokenHash: string, record: TokenRecord): Promise<void> {
    this.#assertOpen();
    if (this.#tokens.has(tokenHash)) throw new StoreConflictError('a token with this hash exists');
    if (this.#hashById.has(record.id)) throw new StoreConflictError(`token id ${record.id} exists`);
    this.#tokens.set(tokenHash, frozenCopy(record));
    this.#hashById.set(record.id, tokenHash);
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    this.#assertOpen();
    const hash = this.#hashById.get(id);
    return hash === undefined ? null : (this.#tokens.get(hash) ?? null);
  }

  async listTokens(filter: TokenFilter): Promise<TokenRecord[]> {
    this.#assertOpen();
    return [...this.#tokens.values()].filter((r) => matchesFilter(r, filter)).sort(compareByCreation);
  }

  async setTokenStatus(id: string, status: TokenStatus, reason?: string): Promise<TokenRecord | null> {
    this.#assertOpen();
    const hash = this.#hashById.get(id);
    const current = hash === undefined ? undefined : this.#tokens.get(hash);
    if (hash === undefined || !current) return null;
    const next = frozenCopy(withStatus(current, status, reason, new Date()));
    this.#tokens.set(hash, next);
    this.#publish({ kind: 'token', tokenHash: hash });
    return next;
  }

  async replaceTokenSecret(id: string, newHash: string, expiresAt: string): Promise<TokenRecord | null> {
    this.#assertOpen();
    const oldHash = this.#hashById.get(id);
    const current = oldHash === undefined ? undefined : this.#tokens.get(oldHash);
    if (oldHash === undefined || !current) return null;
    if (this.#tokens.has(newHash)) throw new StoreConflictError('a token with the new hash exists');
    const next = frozenCopy(withExpiry(current, expiresAt, new Date()));
    this.#tokens.delete(oldHash);
    this.#tokens.set(newHash, next);
    this.#hashById.set(id, newHash);
    this.#publish({ kind: 'token', tokenHash: oldHash });
    return next;
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
    return this.#policies.get(org) ?? null;
  }

  async setOrgPolicy(org: string, policy: OrgPolicy): Promise<void> {
    this.#assertOpen();
    this.#policies.set(org, frozenCopy(policy));
    this.#publish({ kind: 'owner', owner: org });
  }

  async getMembers(org: string): Promise<ReadonlyMap<string, MemberRole>> {
    this.#assertOpen();
    return new Map(this.#members.get(org));
  }

  async setMember(org: string, user: string, role: MemberRole): Promise<void> {
    this.#assertOpen();
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

  async removeMember(org: string, user: string): Promise<boolean> {
    this.#assertOpen();
    const members = this.#members.get(org);
    const removed = members?.delete(user) ?? false;
    if (members?.size === 0) this.#members.delete(org);
    this.#publish({ kind: 'owner', owner: org });
    return removed;
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
