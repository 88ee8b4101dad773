/**
 * The GrantStore on Redis Cluster. Layout: `ClusterKeys` (redis-keys.ts); Lua:
 * redis-cluster-scripts.ts; connections: redis-cluster-connection.ts. Records are
 * decoded by record-codec.ts exactly as on one Redis, and the answers are the
 * standalone store's: both pass test/contract/grant-store.contract.ts.
 *
 * Round trips of a lookup (cache miss):
 * - a fine-grained token used against its own owner: 1 (one script in the owner's slot);
 * - a classic token: 2 (its `home:` pointer, then its record and the asked owner's
 *   state side by side, in their two slots);
 * - a token used against another owner, or an unknown one: the owner's slot misses,
 *   then the pointer (none: unknown), then the record in its home slot.
 */
import type { Cluster, RedisOptions } from 'ioredis';
import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { TokenKind, TokenRecord, TokenStatus } from '../grants/token-record.js';
import { CorruptRecordLog } from './corrupt-record-log.js';
import { deepFreeze } from './deep-freeze.js';
import { StoreConflictError, StoreUnavailableError } from './errors.js';
import type { OutboundEvent } from './event-types.js';
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
import { encodeInvalidation, InvalidationHub } from './invalidation-hub.js';
import { ownerState } from './owner-state.js';
import {
  CorruptRecordError,
  decodeMembers,
  decodePolicyJson,
  decodeRole,
  decodeTokenJson,
  encodeLogin,
  encodePolicy,
  encodeRole,
  encodeTokenRecord,
} from './record-codec.js';
import { type ClusterNode, RedisClusterConnection } from './redis-cluster-connection.js';
import { RedisClusterInvitations } from './redis-cluster-invitations.js';
import {
  CLUSTER_CREATE_LUA,
  CLUSTER_GET_BY_ID_LUA,
  CLUSTER_LOOKUP_LUA,
  CLUSTER_REPLACE_LUA,
  CLUSTER_UPDATE_LUA,
  OWNER_STATE_LUA,
} from './redis-cluster-scripts.js';
import type { ScriptCall, StoreLogger, StoreObserver } from './redis-connection.js';
import { ClusterKeys } from './redis-keys.js';
import { LAST_USED_LUA, SETTLE_NOTICE_LUA } from './redis-scripts.js';
import {
  compareByCreation,
  matchesFilter,
  normalizeFilter,
  withExpiry,
  withStatus,
} from './token-updates.js';

export interface RedisClusterGrantStoreOptions {
  /** Seed nodes of the cluster. */
  readonly nodes: readonly ClusterNode[];
  /** Credentials and TLS for every node. */
  readonly nodeOptions?: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly logger?: StoreLogger;
  readonly observer?: StoreObserver;
  /**
   * Where `settleExpiryNotice` appends its events: the webhook event stream, which must
   * share the expiry index's slot (`ClusterKeys.sidePrefix()`).
   */
  readonly eventStream?: { readonly key: string; readonly maxLen: number };
}

const RETENTION_AFTER_EXPIRY_MS = 30 * 24 * 60 * 60 * 1000;
const LIST_BATCH = 256;
const CAS_ATTEMPTS = 5;
// A lower-cased login: what every key's hash tag holds. Anything else owns no keys.
const LOGIN = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$/;

interface Scripts {
  readonly lookup: ScriptCall;
  readonly ownerState: ScriptCall;
  readonly getById: ScriptCall;
  readonly create: ScriptCall;
  readonly update: ScriptCall;
  readonly replace: ScriptCall;
  readonly lastUsed: ScriptCall;
  readonly settleNotice: ScriptCall;
}

interface Current {
  readonly home: string;
  readonly hash: string;
  readonly json: string;
  readonly record: TokenRecord;
}

interface OwnerStateReply {
  readonly policy: OrgPolicy | null;
  readonly role: MemberRole | null;
  readonly registered: boolean;
}

/** Where a token's keys live: its resource owner (fine-grained) or its user (classic). */
export function tokenHome(record: TokenRecord): string {
  return record.kind === 'fine_grained' ? record.resourceOwner : record.user;
}

/**
 * The shared store on Redis Cluster. Fail closed: every Redis failure, and every
 * record that does not decode, surfaces as StoreUnavailableError.
 */
export class RedisClusterGrantStore implements GrantStore {
  readonly #conn: RedisClusterConnection;
  readonly #keys: ClusterKeys;
  readonly #scripts: Scripts;
  readonly #hub: InvalidationHub;
  readonly #corrupt: CorruptRecordLog;
  readonly #invitations: RedisClusterInvitations;
  readonly #eventStream: RedisClusterGrantStoreOptions['eventStream'];

  constructor(options: RedisClusterGrantStoreOptions) {
    if (!Number.isInteger(options.commandTimeoutMs) || options.commandTimeoutMs <= 0) {
      throw new TypeError(`commandTimeoutMs must be a positive integer, got ${options.commandTimeoutMs}`);
    }
    this.#keys = new ClusterKeys(options.keyPrefix);
    const observer = options.observer ?? {};
    this.#hub = new InvalidationHub((err) => this.#conn.warn({ err }, 'invalidation listener threw'));
    this.#conn = new RedisClusterConnection({
      nodes: options.nodes,
      ...(options.nodeOptions === undefined ? {} : { nodeOptions: options.nodeOptions }),
      commandTimeoutMs: options.commandTimeoutMs,
      channel: this.#keys.channel,
      hub: this.#hub,
      logger: options.logger,
      observer,
    });
    this.#corrupt = new CorruptRecordLog(options.logger, () => observer.commandFailed?.('error'));
    this.#scripts = {
      lookup: this.#conn.defineScript('patgateClusterLookup', 3, CLUSTER_LOOKUP_LUA),
      ownerState: this.#conn.defineScript('patgateClusterOwnerState', 2, OWNER_STATE_LUA),
      getById: this.#conn.defineScript('patgateClusterGetById', 1, CLUSTER_GET_BY_ID_LUA),
      create: this.#conn.defineScript('patgateClusterCreate', 2, CLUSTER_CREATE_LUA),
      update: this.#conn.defineScript('patgateClusterUpdate', 2, CLUSTER_UPDATE_LUA),
      replace: this.#conn.defineScript('patgateClusterReplace', 4, CLUSTER_REPLACE_LUA),
      lastUsed: this.#conn.defineScript('patgateClusterLastUsed', 1, LAST_USED_LUA),
      settleNotice: this.#conn.defineScript('patgateClusterSettleNotice', 2, SETTLE_NOTICE_LUA),
    };
    this.#eventStream = options.eventStream;
    this.#invitations = new RedisClusterInvitations(this.#conn, this.#keys, this.#corrupt, (e) =>
      this.#publish(e),
    );
  }

  /** The command client, for tools that walk the cluster (`patgate store migrate`). */
  get client(): Cluster {
    return this.#conn.client;
  }

  ready(timeoutMs?: number): Promise<void> {
    return this.#conn.ready(timeoutMs);
  }

  async lookup(tokenHash: string, owner: string, kind?: TokenKind): Promise<GrantSnapshot | null> {
    const lowered = owner.toLowerCase();
    const asked = LOGIN.test(lowered) ? lowered : null;
    // The common case: a fine-grained token used against its own owner, one script in that slot.
    if (kind !== 'classic' && asked !== null) {
      const entry = await this.#conn.run(() => this.#lookupIn(asked, tokenHash, asked));
      if (entry !== null) return this.#decodeLookup(tokenHash, asked, asked, entry, null);
    }
    const pointerKey = this.#keys.hashHome(tokenHash);
    const home = await this.#conn.run(() => this.#conn.client.get(pointerKey));
    if (home === null) return null;
    if (!LOGIN.test(home)) {
      throw this.#corrupt.fail(pointerKey, new CorruptRecordError('token home', 'not a login'));
    }
    // Already asked there: the pointer outlived its record (or the record is being written).
    if (home === asked && kind !== 'classic') return null;
    // A classic token's home is its user: the asked owner's state can be read alongside.
    const sideState = kind === 'classic' && asked !== null && asked !== home ? asked : null;
    const [entry, state] = await Promise.all([
      this.#conn.run(() => this.#lookupIn(home, tokenHash, asked ?? '')),
      sideState === null ? Promise.resolve(null) : this.#readOwnerState(sideState, home),
    ]);
    if (entry === null) return null;
    return this.#decodeLookup(tokenHash, home, asked, entry, state);
  }

  #lookupIn(home: string, tokenHash: string, asked: string): Promise<unknown> {
    return this.#scripts.lookup(
      this.#keys.token(home, tokenHash),
      this.#keys.policy(home),
      this.#keys.members(home),
      this.#keys.home(home),
      home,
      asked,
    );
  }

  async #readOwnerState(owner: string, user: string): Promise<OwnerStateReply> {
    const reply = await this.#conn.run(() =>
      this.#scripts.ownerState(this.#keys.policy(owner), this.#keys.members(owner), user),
    );
    let key = this.#keys.policy(owner);
    try {
      if (!Array.isArray(reply) || reply.length !== 3) {
        throw new CorruptRecordError('owner state', 'unreadable by the lookup script');
      }
      const [policyJson, role, registered] = reply as unknown[];
      const policy = policyJson === null ? null : decodePolicyJson(policyJson);
      key = this.#keys.members(owner);
      const memberRole = role === null ? null : decodeRole(role);
      if (registered !== 0 && registered !== 1) {
        throw new CorruptRecordError('owner state', 'registered is not 0/1');
      }
      return { policy, role: memberRole, registered: registered === 1 };
    } catch (err) {
      if (err instanceof CorruptRecordError) throw this.#corrupt.fail(key, err);
      throw new StoreUnavailableError({ cause: err });
    }
  }

  /** One answer of CLUSTER_LOOKUP_LUA, decoded strictly; the error names the key at fault. */
  async #decodeLookup(
    tokenHash: string,
    home: string,
    asked: string | null,
    entry: unknown,
    sideState: OwnerStateReply | null,
  ): Promise<GrantSnapshot> {
    let key = this.#keys.token(home, tokenHash);
    try {
      if (!Array.isArray(entry) || entry.length !== 6) {
        throw new CorruptRecordError('token record', 'unreadable by the lookup script');
      }
      const [tokenJson, policyJson, role, registered, grace, included] = entry as unknown[];
      const stored = decodeTokenJson(tokenJson);
      if (tokenHome(stored) !== home) throw new CorruptRecordError('token record', 'stored outside its home');
      if (grace !== null && (typeof grace !== 'string' || Number.isNaN(Date.parse(grace)))) {
        throw new CorruptRecordError('grace alias', 'graceUntil is not an instant');
      }
      const token = grace === null ? stored : { ...stored, graceUntil: grace };
      let state: OwnerStateReply;
      if (included === 1) {
        key = this.#keys.policy(home);
        const policy = policyJson === null ? null : decodePolicyJson(policyJson);
        key = this.#keys.members(home);
        const memberRole = role === null ? null : decodeRole(role);
        if (registered !== 0 && registered !== 1) {
          throw new CorruptRecordError('lookup reply', 'registered is not 0/1');
        }
        state = { policy, role: memberRole, registered: registered === 1 };
      } else if (included === 0 && token.kind === 'classic') {
        // A classic token reaching another owner (or none): that owner's state, in its slot.
        state =
          asked === null
            ? { policy: null, role: null, registered: false }
            : (sideState ?? (await this.#readOwnerState(asked, token.user)));
      } else {
        throw new CorruptRecordError('lookup reply', 'owner state missing');
      }
      return deepFreeze({ token, owner: ownerState(state.registered, state.policy, state.role) });
    } catch (err) {
      if (err instanceof CorruptRecordError) throw this.#corrupt.fail(key, err);
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError({ cause: err });
    }
  }

  /**
   * Pointers first, record last: a create cut short leaves pointers to nothing, which
   * every reader takes for "no such token"; never a record no pointer finds.
   */
  async createToken(tokenHash: string, input: TokenRecord): Promise<void> {
    const record = encodeTokenRecord(input);
    const home = tokenHome(record);
    const expireAt = retentionDeadline(record.expiresAt);
    const client = this.#conn.client;
    const hashKey = this.#keys.hashHome(tokenHash);
    const idKey = this.#keys.idHome(record.id);
    const hashSet = await this.#conn.run(() => client.set(hashKey, home, 'PXAT', expireAt, 'NX'));
    if (hashSet === null) throw new StoreConflictError('a token with this hash exists');
    const idSet = await this.#conn.run(() => client.set(idKey, home, 'PXAT', expireAt, 'NX'));
    if (idSet === null) {
      // Ours a moment ago (NX), and nothing else points through it yet.
      await this.#conn.run(() => client.del(hashKey));
      throw new StoreConflictError(`token id ${record.id} exists`);
    }
    await this.#conn.run(() => client.sadd(this.#keys.tokens, record.id));
    await this.#conn.run(() =>
      client.zadd(this.#keys.expiryNotices, ...noticeEntries(record.id, record.expiresAt)),
    );
    const result = await this.#conn.run(() =>
      this.#scripts.create(
        this.#keys.token(home, tokenHash),
        this.#keys.tokenId(home, record.id),
        JSON.stringify(record),
        tokenHash,
        expireAt,
      ),
    );
    if (result === 1 || result === 2) {
      // The script wrote nothing; the pointers name keys that belong to someone else.
      await this.#conn.run(() => client.del(hashKey));
      await this.#conn.run(() => client.del(idKey));
      throw new StoreConflictError(
        result === 1 ? 'a token with this hash exists' : `token id ${record.id} exists`,
      );
    }
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const current = await this.#current(id);
    return current ? current.record : null;
  }

  async listTokens(input: TokenFilter): Promise<TokenRecord[]> {
    const filter = normalizeFilter(input);
    const client = this.#conn.client;
    const ids = await this.#conn.run(() => client.smembers(this.#keys.tokens));
    const records: TokenRecord[] = [];
    for (let i = 0; i < ids.length; i += LIST_BATCH) {
      const batch = ids.slice(i, i + LIST_BATCH);
      const found = await Promise.all(batch.map((id) => this.#listed(id)));
      for (const record of found) if (record !== null && matchesFilter(record, filter)) records.push(record);
    }
    return records.sort(compareByCreation);
  }

  /** One id of the listing; a record that does not decode is left out (and reported). */
  async #listed(id: string): Promise<TokenRecord | null> {
    const client = this.#conn.client;
    const home = await this.#conn.run(() => client.get(this.#keys.idHome(id)));
    if (home === null) {
      // Expired with its record (same deadline): forget the id. A create in progress
      // has written its pointer before the id, so it is never forgotten here.
      await this.#conn.run(() => client.srem(this.#keys.tokens, id));
      await this.#conn.run(() => client.hdel(this.#keys.lastUsed, id));
      return null;
    }
    if (!LOGIN.test(home)) {
      this.#corrupt.fail(this.#keys.idHome(id), new CorruptRecordError('token home', 'not a login'));
      return null;
    }
    const reply = await this.#conn.run(() =>
      this.#scripts.getById(this.#keys.tokenId(home, id), this.#keys.home(home)),
    );
    if (reply === null) return null;
    const [hash, json] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof hash !== 'string' || typeof json !== 'string') throw corrupt('list reply');
    const record = this.#corrupt.skip(this.#keys.token(home, hash), json, decodeTokenJson);
    return record !== null && tokenHome(record) === home && record.id === id ? record : null;
  }

  async setTokenStatus(id: string, status: TokenStatus, reason?: string): Promise<TokenRecord | null> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#current(id);
      if (!current) return null;
      const next = encodeTokenRecord(withStatus(current.record, status, reason, new Date()));
      const written = await this.#conn.run(() =>
        this.#scripts.update(
          this.#keys.tokenId(current.home, id),
          this.#keys.token(current.home, current.hash),
          current.hash,
          current.json,
          JSON.stringify(next),
        ),
      );
      if (written === 1) {
        await this.#publish({ kind: 'token', tokenHash: current.hash });
        await this.#publishGraceAlias(current.home, id);
        return next;
      }
    }
    throw new StoreConflictError(`token ${id} kept changing during the update`);
  }

  async #publishGraceAlias(home: string, id: string): Promise<void> {
    const alias = await this.#conn.run(() => this.#conn.client.get(this.#keys.tokenGrace(home, id)));
    if (alias !== null) await this.#publish({ kind: 'token', tokenHash: alias });
  }

  async replaceTokenSecret(
    id: string,
    newHash: string,
    expiresAt: string,
    graceUntil?: string,
  ): Promise<TokenRecord | null> {
    const expireAt = retentionDeadline(expiresAt);
    const graceMs = graceUntil === undefined ? Number.NaN : Date.parse(graceUntil);
    if (graceUntil !== undefined && Number.isNaN(graceMs)) {
      throw new TypeError(`graceUntil is not an instant: ${graceUntil}`);
    }
    const alias = graceUntil === undefined ? '' : JSON.stringify({ graceOf: id, graceUntil });
    const aliasExpireAt = graceUntil === undefined ? '' : String(graceMs + 86_400_000);
    const client = this.#conn.client;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#current(id);
      if (!current) return null;
      const { home } = current;
      const newKey = this.#keys.hashHome(newHash);
      const pointed = await this.#conn.run(() => client.set(newKey, home, 'PXAT', expireAt, 'NX'));
      if (pointed === null) {
        // Ours from an earlier attempt, or another token's.
        const existing = await this.#conn.run(() => client.get(newKey));
        if (existing !== home) throw new StoreConflictError('a token with the new hash exists');
      }
      const next = encodeTokenRecord(withExpiry(current.record, expiresAt, new Date()));
      const moved = await this.#conn.run(() =>
        this.#scripts.replace(
          this.#keys.tokenId(home, id),
          this.#keys.token(home, current.hash),
          this.#keys.token(home, newHash),
          this.#keys.tokenGrace(home, id),
          current.hash,
          current.json,
          JSON.stringify(next),
          newHash,
          expireAt,
          alias,
          aliasExpireAt,
          this.#keys.home(home),
        ),
      );
      if (moved === -1) throw new StoreConflictError('a token with the new hash exists');
      if (Array.isArray(moved) && moved[0] === 1) {
        await this.#conn.run(() => client.pexpireat(this.#keys.idHome(id), expireAt));
        // The token's expiry notices move to its new expiry.
        await this.#conn.run(() => client.zadd(this.#keys.expiryNotices, ...noticeEntries(id, expiresAt)));
        await this.#publish({ kind: 'token', tokenHash: current.hash });
        const previous: unknown = moved[1];
        if (typeof previous === 'string' && previous !== '') {
          await this.#publish({ kind: 'token', tokenHash: previous });
        }
        return next;
      }
    }
    throw new StoreConflictError(`token ${id} kept changing during the update`);
  }

  async recordLastUsed(lastUsed: ReadonlyMap<string, string>): Promise<void> {
    if (lastUsed.size === 0) return;
    const args: string[] = [];
    for (const [id, at] of lastUsed) args.push(id, at);
    await this.#conn.run(() => this.#scripts.lastUsed(this.#keys.lastUsed, ...args));
  }

  async getLastUsed(id: string): Promise<string | null> {
    return this.#conn.run(() => this.#conn.client.hget(this.#keys.lastUsed, id));
  }

  async getOrgPolicy(org: string): Promise<OrgPolicy | null> {
    const name = org.toLowerCase();
    if (!LOGIN.test(name)) return null;
    const key = this.#keys.policy(name);
    const json = await this.#conn.run(() => this.#conn.client.get(key));
    return json === null ? null : this.#corrupt.decode(key, json, decodePolicyJson);
  }

  async setOrgPolicy(org: string, policy: OrgPolicy): Promise<void> {
    const name = encodeLogin(org);
    const json = JSON.stringify(encodePolicy(policy));
    await this.#atomic((m) => m.set(this.#keys.policy(name), json), name);
  }

  async getMembers(org: string): Promise<ReadonlyMap<string, MemberRole>> {
    const name = org.toLowerCase();
    if (!LOGIN.test(name)) return new Map();
    const key = this.#keys.members(name);
    const all = await this.#conn.run(() => this.#conn.client.hgetall(key));
    return this.#corrupt.decode(key, all, decodeMembers);
  }

  async setMember(org: string, user: string, role: MemberRole): Promise<void> {
    const name = encodeLogin(org);
    const member = encodeLogin(user);
    const known = encodeRole(role);
    // As on one Redis: a member registers the org for good (a default policy key).
    await this.#atomic(
      (m) =>
        m
          .hset(this.#keys.members(name), member, known)
          .set(this.#keys.policy(name), JSON.stringify(DEFAULT_ORG_POLICY), 'NX'),
      name,
    );
  }

  async removeMember(org: string, user: string): Promise<boolean> {
    const name = org.toLowerCase();
    if (!LOGIN.test(name)) return false;
    const removed = await this.#atomic((m) => m.hdel(this.#keys.members(name), user.toLowerCase()), name);
    return removed === 1;
  }

  createInvitation(invitation: Invitation): Promise<void> {
    return this.#invitations.create(invitation);
  }

  listInvitations(filter: InvitationFilter): Promise<Invitation[]> {
    return this.#invitations.list(filter);
  }

  acceptInvitation(org: string, user: string, now: number): Promise<MemberRole | null> {
    return this.#invitations.accept(org, user, now);
  }

  deleteInvitation(org: string, user: string): Promise<boolean> {
    return this.#invitations.delete(org, user);
  }

  /** As on one Redis: a member that does not read is removed as it is met. */
  async dueExpiryNotices(now: number, limit: number): Promise<ExpiryNotice[]> {
    const key = this.#keys.expiryNotices;
    const client = this.#conn.client;
    const reply = await this.#conn.run(() =>
      client.zrangebyscore(key, '-inf', String(now), 'WITHSCORES', 'LIMIT', 0, limit),
    );
    const notices: ExpiryNotice[] = [];
    const unreadable: string[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const member = String(reply[i]);
      const notice = decodeNotice(member, Number(reply[i + 1]));
      if (notice === null) unreadable.push(member);
      else notices.push(notice);
    }
    if (unreadable.length > 0) {
      this.#corrupt.skip(key, null, () => {
        throw new CorruptRecordError('expiry notice', `${unreadable.length} unreadable member(s) removed`);
      });
      await this.#conn.run(() => client.zrem(key, ...unreadable));
    }
    return notices;
  }

  async settleExpiryNotice(notice: ExpiryNotice, events: readonly OutboundEvent[]): Promise<boolean> {
    const stream = this.#eventStream;
    if (stream === undefined && events.length > 0) {
      throw new TypeError('settleExpiryNotice: this store was built without an event stream');
    }
    const settled = await this.#conn.run(() =>
      this.#scripts.settleNotice(
        this.#keys.expiryNotices,
        stream?.key ?? this.#keys.expiryNotices,
        `${notice.tokenId}:${notice.kind}`,
        String(notice.dueAt),
        String(stream?.maxLen ?? 0),
        ...events.map((e) => JSON.stringify(e)),
      ),
    );
    return settled === 1;
  }

  onInvalidate(listener: InvalidationListener): void {
    this.#hub.add(listener);
  }

  isSynchronized(): boolean {
    return this.#conn.isSubscribed();
  }

  async ping(): Promise<void> {
    await this.#conn.run(() => this.#conn.client.ping());
  }

  close(): Promise<void> {
    return this.#conn.close();
  }

  /**
   * SPUBLISH after the write it describes (the channel has a slot of its own). A writer
   * that fails here has written: the caller gets StoreUnavailableError and may repeat
   * the call, which writes the same and publishes again.
   */
  #publish(event: Invalidation): Promise<void> {
    return this.#conn.publish(encodeInvalidation(event, Date.now()));
  }

  async #current(id: string): Promise<Current | null> {
    const idKey = this.#keys.idHome(id);
    const home = await this.#conn.run(() => this.#conn.client.get(idKey));
    if (home === null) return null;
    if (!LOGIN.test(home))
      throw this.#corrupt.fail(idKey, new CorruptRecordError('token home', 'not a login'));
    const reply = await this.#conn.run(() =>
      this.#scripts.getById(this.#keys.tokenId(home, id), this.#keys.home(home)),
    );
    if (reply === null) return null;
    const [hash, json] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof hash !== 'string' || typeof json !== 'string') throw corrupt('token reply');
    const key = this.#keys.token(home, hash);
    const record = this.#corrupt.decode(key, json, decodeTokenJson);
    if (tokenHome(record) !== home || record.id !== id) {
      throw this.#corrupt.fail(key, new CorruptRecordError('token record', 'stored outside its home'));
    }
    return { home, hash, json, record };
  }

  /** One org write in a MULTI (one slot), then its invalidation; resolves to the write's reply. */
  async #atomic(write: (m: ReturnType<Cluster['multi']>) => unknown, org: string): Promise<unknown> {
    const results = await this.#conn.run(() => {
      const multi = this.#conn.client.multi();
      write(multi);
      return multi.exec();
    });
    if (!results) throw new StoreUnavailableError({ cause: new Error('MULTI aborted') });
    for (const [err] of results) {
      if (err) throw new StoreUnavailableError({ cause: err });
    }
    await this.#publish({ kind: 'owner', owner: org });
    return results[0]?.[1];
  }
}

/** ZADD arguments for a token's expiry notices: score, member, ... */
function noticeEntries(id: string, expiresAt: string): string[] {
  const expires = Date.parse(expiresAt);
  if (Number.isNaN(expires)) throw new TypeError(`expiresAt is not an instant: ${expiresAt}`);
  return EXPIRY_NOTICE_KINDS.flatMap((kind) => [
    String(expires - EXPIRY_NOTICE_LEAD_MS[kind]),
    `${id}:${kind}`,
  ]);
}

/** A member of the expiry index, `{id}:{kind}`, read as hostile data; null when it does not read. */
function decodeNotice(member: string, dueAt: number): ExpiryNotice | null {
  const colon = member.lastIndexOf(':');
  const tokenId = member.slice(0, colon);
  const kind = EXPIRY_NOTICE_KINDS.find((k) => k === member.slice(colon + 1));
  // Ids as the record codec takes them (as RedisGrantStore reads them): any non-empty string.
  if (colon < 1 || kind === undefined || tokenId.length > 256 || !Number.isSafeInteger(dueAt)) return null;
  return { tokenId, kind, dueAt };
}

/** Dead tokens linger 30 days past expiry so that they still answer "expired". */
function retentionDeadline(expiresAt: string): number {
  const expires = Date.parse(expiresAt);
  if (Number.isNaN(expires)) throw new TypeError(`expiresAt is not an instant: ${expiresAt}`);
  return Math.max(expires, Date.now()) + RETENTION_AFTER_EXPIRY_MS;
}

function corrupt(what: string): StoreUnavailableError {
  return new StoreUnavailableError({ cause: new Error(`unexpected ${what} from Redis`) });
}
