/**
 * The Redis GrantStore: the commands. The key layout is in redis-keys.ts, the Lua
 * in redis-scripts.ts, the connections and their lifecycle in redis-connection.ts,
 * and every record read back is decoded by record-codec.ts.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
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
import {
  RedisConnection,
  type RedisConnectionRole,
  type RedisSentinelOptions,
  type ScriptCall,
  type StoreLogger,
  type StoreObserver,
} from './redis-connection.js';
import { RedisInvitations } from './redis-invitations.js';
import { RedisKeys } from './redis-keys.js';
import {
  CREATE_LUA,
  GET_BY_ID_LUA,
  LAST_USED_LUA,
  LIST_LUA,
  LOOKUP_MANY_LUA,
  REPLACE_LUA,
  SETTLE_NOTICE_LUA,
  UPDATE_LUA,
} from './redis-scripts.js';
import {
  compareByCreation,
  matchesFilter,
  normalizeFilter,
  withExpiry,
  withStatus,
} from './token-updates.js';
import { TurnBatcher } from './turn-batcher.js';

// Moved to redis-connection.ts; re-exported so that importers of this module keep working.
export {
  type RedisConnectionRole,
  type RedisSentinelOptions,
  type StoreFailureKind,
  type StoreLogger,
  type StoreObserver,
  sentinelConnectionOptions,
} from './redis-connection.js';

export interface RedisGrantStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Upper bound on every command; past it the call rejects with StoreUnavailableError. */
  readonly commandTimeoutMs: number;
  readonly logger?: StoreLogger;
  /** Find the primary through these sentinels; `url` then gives credentials, database and TLS only. */
  readonly sentinel?: RedisSentinelOptions;
  readonly observer?: StoreObserver;
  /** Builds each of the two connections; tests use it to wrap or count. Defaults to `new Redis(url, options)`. */
  readonly createClient?: (role: RedisConnectionRole, url: string, options: RedisOptions) => Redis;
  /** Where `settleExpiryNotice` appends its events: the webhook event stream (`{p}events`). */
  readonly eventStream?: { readonly key: string; readonly maxLen: number };
}

const RETENTION_AFTER_EXPIRY_MS = 30 * 24 * 60 * 60 * 1000;
const LIST_BATCH = 256;
const CAS_ATTEMPTS = 5;
// Lookups per script call: bounds how long one call holds Redis (a few µs per token).
const LOOKUP_BATCH = 128;

interface Scripts {
  readonly lookupMany: ScriptCall;
  readonly getById: ScriptCall;
  readonly create: ScriptCall;
  readonly update: ScriptCall;
  readonly replace: ScriptCall;
  readonly list: ScriptCall;
  readonly lastUsed: ScriptCall;
  readonly settleNotice: ScriptCall;
}

interface LookupRequest {
  readonly tokenHash: string;
  readonly owner: string;
}

/**
 * The shared store. Fail closed: every Redis failure, and every record that does
 * not decode, surfaces as StoreUnavailableError.
 */
export class RedisGrantStore implements GrantStore {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #scripts: Scripts;
  readonly #hub: InvalidationHub;
  readonly #corrupt: CorruptRecordLog;
  readonly #invitations: RedisInvitations;
  readonly #eventStream: RedisGrantStoreOptions['eventStream'];
  /** Lookups made in one turn of the event loop go to Redis as one script call. */
  readonly #lookups = new TurnBatcher<LookupRequest, GrantSnapshot | null>(LOOKUP_BATCH, (batch) =>
    this.#lookupMany(batch),
  );

  constructor(options: RedisGrantStoreOptions) {
    if (!Number.isInteger(options.commandTimeoutMs) || options.commandTimeoutMs <= 0) {
      throw new TypeError(`commandTimeoutMs must be a positive integer, got ${options.commandTimeoutMs}`);
    }
    this.#keys = new RedisKeys(options.keyPrefix);
    const observer = options.observer ?? {};
    this.#hub = new InvalidationHub((err) => this.#conn.warn({ err }, 'invalidation listener threw'));
    this.#conn = new RedisConnection({
      url: options.url,
      commandTimeoutMs: options.commandTimeoutMs,
      channel: this.#keys.channel,
      hub: this.#hub,
      logger: options.logger,
      sentinel: options.sentinel,
      observer,
      createClient: options.createClient,
    });
    // Counted where an error reply from Redis is: the answer came, but cannot be used.
    this.#corrupt = new CorruptRecordLog(options.logger, () => observer.commandFailed?.('error'));
    this.#scripts = {
      lookupMany: this.#conn.defineScript('patgateLookupMany', null, LOOKUP_MANY_LUA),
      getById: this.#conn.defineScript('patgateGetById', 1, GET_BY_ID_LUA),
      create: this.#conn.defineScript('patgateCreate', 4, CREATE_LUA),
      update: this.#conn.defineScript('patgateUpdate', 2, UPDATE_LUA),
      replace: this.#conn.defineScript('patgateReplace', 5, REPLACE_LUA),
      list: this.#conn.defineScript('patgateList', 2, LIST_LUA),
      lastUsed: this.#conn.defineScript('patgateLastUsed', 1, LAST_USED_LUA),
      settleNotice: this.#conn.defineScript('patgateSettleNotice', 2, SETTLE_NOTICE_LUA),
    };
    this.#eventStream = options.eventStream;
    this.#invitations = new RedisInvitations(this.#conn, this.#keys, this.#corrupt);
  }

  /**
   * Resolves once commands can be sent and the invalidation subscription is live;
   * rejects with StoreUnavailableError after `timeoutMs`. Optional: before the
   * first connection a command waits up to the command timeout for it, but
   * invalidations published before the subscription are only covered by the
   * `{kind: 'all'}` it then delivers.
   */
  ready(timeoutMs?: number): Promise<void> {
    return this.#conn.ready(timeoutMs);
  }

  lookup(tokenHash: string, owner: string): Promise<GrantSnapshot | null> {
    return this.#lookups.add({ tokenHash, owner });
  }

  /** One script call for the batch; a record that cannot be read fails its own lookup only. */
  async #lookupMany(batch: readonly LookupRequest[]): Promise<(GrantSnapshot | null | Error)[]> {
    const args: string[] = [];
    for (const { tokenHash } of batch) args.push(this.#keys.token(tokenHash));
    args.push(this.#keys.prefix);
    for (const { owner } of batch) args.push(owner);
    const reply = await this.#conn.run(() => this.#scripts.lookupMany(batch.length, ...args));
    // The batcher refuses an answer of another length; a reply that is no list at all is corrupt.
    if (!Array.isArray(reply)) throw corrupt('lookup reply');
    return batch.map((request, i) => this.#decodeLookup(request, reply[i]));
  }

  /** One answer of LOOKUP_MANY_LUA, decoded strictly; the error names the key at fault. */
  #decodeLookup(request: LookupRequest, entry: unknown): GrantSnapshot | null | Error {
    if (entry === null) return null;
    let key = this.#keys.token(request.tokenHash);
    if (!Array.isArray(entry) || entry.length !== 5) {
      return this.#corrupt.fail(
        key,
        new CorruptRecordError('token record', 'unreadable by the lookup script'),
      );
    }
    const [tokenJson, policyJson, role, registered, grace] = entry as unknown[];
    try {
      const stored = decodeTokenJson(tokenJson);
      if (grace !== null && (typeof grace !== 'string' || Number.isNaN(Date.parse(grace)))) {
        throw new CorruptRecordError('grace alias', 'graceUntil is not an instant');
      }
      const token = grace === null ? stored : { ...stored, graceUntil: grace };
      // The owner whose keys the script read, as it derived them.
      const owner = token.kind === 'fine_grained' ? token.resourceOwner : request.owner.toLowerCase();
      key = this.#keys.policy(owner);
      const policy = policyJson === null ? null : decodePolicyJson(policyJson);
      key = this.#keys.members(owner);
      const memberRole = role === null ? null : decodeRole(role);
      if (registered !== 0 && registered !== 1)
        throw new CorruptRecordError('lookup reply', 'registered is not 0/1');
      return deepFreeze({ token, owner: ownerState(registered === 1, policy, memberRole) });
    } catch (err) {
      if (err instanceof CorruptRecordError) return this.#corrupt.fail(key, err);
      return new StoreUnavailableError({ cause: err });
    }
  }

  async createToken(tokenHash: string, input: TokenRecord): Promise<void> {
    const record = encodeTokenRecord(input);
    const expireAt = retentionDeadline(record.expiresAt);
    const result = await this.#conn.run(() =>
      this.#scripts.create(
        this.#keys.token(tokenHash),
        this.#keys.tokenId(record.id),
        this.#keys.tokens,
        this.#keys.expiryNotices,
        JSON.stringify(record),
        tokenHash,
        record.id,
        expireAt,
        ...noticeScores(record.expiresAt),
      ),
    );
    if (result === 1) throw new StoreConflictError('a token with this hash exists');
    if (result === 2) throw new StoreConflictError(`token id ${record.id} exists`);
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const current = await this.#current(id);
    return current ? current.record : null;
  }

  /**
   * A record that does not decode is left out (and reported): it grants nothing, since its
   * lookups fail, and one bad record must not take every listing and the admin
   * checks built on them down with it.
   */
  async listTokens(input: TokenFilter): Promise<TokenRecord[]> {
    const filter = normalizeFilter(input);
    const ids = await this.#conn.run(() => this.#conn.client.smembers(this.#keys.tokens));
    const records: TokenRecord[] = [];
    for (let i = 0; i < ids.length; i += LIST_BATCH) {
      const batch = ids.slice(i, i + LIST_BATCH);
      const reply = await this.#conn.run(() =>
        this.#scripts.list(this.#keys.tokens, this.#keys.lastUsed, this.#keys.prefix, ...batch),
      );
      if (!Array.isArray(reply) || reply.length % 2 !== 0) throw corrupt('list reply');
      for (let r = 0; r < reply.length; r += 2) {
        const record = this.#corrupt.skip(this.#keys.token(String(reply[r])), reply[r + 1], decodeTokenJson);
        if (record !== null && matchesFilter(record, filter)) records.push(record);
      }
    }
    return records.sort(compareByCreation);
  }

  async setTokenStatus(id: string, status: TokenStatus, reason?: string): Promise<TokenRecord | null> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#current(id);
      if (!current) return null;
      const next = encodeTokenRecord(withStatus(current.record, status, reason, new Date()));
      const nextJson = JSON.stringify(next);
      const written = await this.#conn.run(() =>
        this.#scripts.update(
          this.#keys.tokenId(id),
          this.#keys.token(current.hash),
          current.hash,
          current.json,
          nextJson,
          this.#keys.channel,
          encodeInvalidation({ kind: 'token', tokenHash: current.hash }, Date.now()),
        ),
      );
      if (written === 1) {
        await this.#publishGraceAlias(id);
        return next;
      }
    }
    throw new StoreConflictError(`token ${id} kept changing during the update`);
  }

  /** A replaced secret still in its grace period is cached under its own hash: evict it too. */
  async #publishGraceAlias(id: string): Promise<void> {
    const alias = await this.#conn.run(() => this.#conn.client.get(this.#keys.tokenGrace(id)));
    if (alias === null) return;
    await this.#conn.run(() =>
      this.#conn.client.publish(
        this.#keys.channel,
        encodeInvalidation({ kind: 'token', tokenHash: alias }, Date.now()),
      ),
    );
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
    // The alias outlives the grace by a day so that the old secret is refused as replaced,
    // not as unknown; `decide` refuses it from graceUntil on.
    const alias = graceUntil === undefined ? '' : JSON.stringify({ graceOf: id, graceUntil });
    const aliasExpireAt = graceUntil === undefined ? '' : String(graceMs + 86_400_000);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#current(id);
      if (!current) return null;
      const next = encodeTokenRecord(withExpiry(current.record, expiresAt, new Date()));
      const nextJson = JSON.stringify(next);
      const moved = await this.#conn.run(() =>
        this.#scripts.replace(
          this.#keys.tokenId(id),
          this.#keys.token(current.hash),
          this.#keys.token(newHash),
          this.#keys.tokenGrace(id),
          this.#keys.expiryNotices,
          current.hash,
          current.json,
          nextJson,
          newHash,
          expireAt,
          this.#keys.channel,
          encodeInvalidation({ kind: 'token', tokenHash: current.hash }, Date.now()),
          alias,
          aliasExpireAt,
          this.#keys.prefix,
          id,
          ...noticeScores(expiresAt),
        ),
      );
      if (moved === -1) throw new StoreConflictError('a token with the new hash exists');
      if (Array.isArray(moved) && moved[0] === 1) {
        const previous = moved[1];
        if (typeof previous === 'string' && previous !== '') {
          await this.#conn.run(() =>
            this.#conn.client.publish(
              this.#keys.channel,
              encodeInvalidation({ kind: 'token', tokenHash: previous }, Date.now()),
            ),
          );
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
    const key = this.#keys.policy(org.toLowerCase());
    const json = await this.#conn.run(() => this.#conn.client.get(key));
    return json === null ? null : this.#corrupt.decode(key, json, decodePolicyJson);
  }

  async setOrgPolicy(org: string, policy: OrgPolicy): Promise<void> {
    const name = encodeLogin(org);
    const json = JSON.stringify(encodePolicy(policy));
    await this.#atomic((m) => m.set(this.#keys.policy(name), json), name);
  }

  async getMembers(org: string): Promise<ReadonlyMap<string, MemberRole>> {
    const key = this.#keys.members(org.toLowerCase());
    const all = await this.#conn.run(() => this.#conn.client.hgetall(key));
    return this.#corrupt.decode(key, all, decodeMembers);
  }

  async setMember(org: string, user: string, role: MemberRole): Promise<void> {
    const name = encodeLogin(org);
    const member = encodeLogin(user);
    const known = encodeRole(role);
    // Registering a member registers the org for good (a default policy key): removing
    // its last member later must not turn it back into an unregistered owner, or the
    // removed member's tokens would work again.
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

  /**
   * A member that does not read (another writer's, or damaged) is removed as it is met: left
   * at the head of the index it would hold back every notice behind it.
   */
  async dueExpiryNotices(now: number, limit: number): Promise<ExpiryNotice[]> {
    const key = this.#keys.expiryNotices;
    const reply = await this.#conn.run(() =>
      this.#conn.client.zrangebyscore(key, '-inf', String(now), 'WITHSCORES', 'LIMIT', 0, limit),
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
      await this.#conn.run(() => this.#conn.client.zrem(key, ...unreadable));
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

  /** The current hash, raw JSON and decoded record of token `id`, read atomically. */
  async #current(id: string): Promise<{ hash: string; json: string; record: TokenRecord } | null> {
    const reply = await this.#conn.run(() =>
      this.#scripts.getById(this.#keys.tokenId(id), this.#keys.prefix),
    );
    if (reply === null) return null;
    const [hash, json] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof hash !== 'string' || typeof json !== 'string') throw corrupt('token reply');
    return { hash, json, record: this.#corrupt.decode(this.#keys.token(hash), json, decodeTokenJson) };
  }

  /** One org write and its invalidation in a MULTI; resolves to the write's reply. */
  async #atomic(write: (m: ReturnType<Redis['multi']>) => unknown, org: string): Promise<unknown> {
    const results = await this.#conn.run(() => {
      const multi = this.#conn.client.multi();
      write(multi);
      multi.publish(this.#keys.channel, encodeInvalidation({ kind: 'owner', owner: org }, Date.now()));
      return multi.exec();
    });
    if (!results) throw new StoreUnavailableError({ cause: new Error('MULTI aborted') });
    for (const [err] of results) {
      if (err) throw new StoreUnavailableError({ cause: err });
    }
    return results[0]?.[1];
  }
}

/** The due instants (ms) of a token's expiry notices, in EXPIRY_NOTICE_KINDS order, for the scripts. */
function noticeScores(expiresAt: string): string[] {
  const expires = Date.parse(expiresAt);
  if (Number.isNaN(expires)) throw new TypeError(`expiresAt is not an instant: ${expiresAt}`);
  return EXPIRY_NOTICE_KINDS.map((kind) => String(expires - EXPIRY_NOTICE_LEAD_MS[kind]));
}

/** A member of the expiry index, `{id}:{kind}`, read as hostile data; null when it does not read. */
function decodeNotice(member: string, dueAt: number): ExpiryNotice | null {
  const colon = member.lastIndexOf(':');
  const tokenId = member.slice(0, colon);
  const kind = EXPIRY_NOTICE_KINDS.find((k) => k === member.slice(colon + 1));
  // Ids as the record codec takes them: any non-empty string.
  if (colon < 1 || kind === undefined || tokenId.length > 256 || !Number.isSafeInteger(dueAt)) return null;
  return { tokenId, kind, dueAt };
}

/** Dead tokens linger 30 days past expiry so that they still answer "expired". */
function retentionDeadline(expiresAt: string): number {
  const expires = Date.parse(expiresAt);
  if (Number.isNaN(expires)) throw new TypeError(`expiresAt is not an instant: ${expiresAt}`);
  // A token imported long expired still gets the full grace period.
  return Math.max(expires, Date.now()) + RETENTION_AFTER_EXPIRY_MS;
}

function corrupt(what: string): StoreUnavailableError {
  return new StoreUnavailableError({ cause: new Error(`unexpected ${what} from Redis`) });
}
