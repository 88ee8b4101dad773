/**
 * Redis key layout (`{p}` is the configured key prefix):
 *
 * | key                    | type   | holds                                                    |
 * | ---------------------- | ------ | -------------------------------------------------------- |
 * | `{p}tok:{hash}`        | string | JSON `TokenRecord`, keyed by the SHA-256 of the secret   |
 * | `{p}tokid:{id}`        | string | the current hash of token `id`                           |
 * | `{p}tokens`            | set    | every token id (admin listing only, never the hot path)  |
 * | `{p}lastused`          | hash   | token id -> ISO instant of last use                      |
 * | `{p}org:{org}:policy`  | string | JSON `OrgPolicy`                                         |
 * | `{p}org:{org}:members` | hash   | user -> `member` / `admin`                               |
 *
 * `tok:` and `tokid:` keys expire 30 days after the token does (PEXPIREAT), so dead
 * tokens eventually vanish (a lookup then says "unknown") while recently expired
 * ones still answer "expired". An org is registered once it has a policy key (setMember
 * writes the default policy when there is none, so an org never unregisters) or
 * at least one member.
 *
 * Invalidations are published on `{p}invalidate`: `t:{hash}:{ms}`, `o:{owner}:{ms}`
 * (see invalidation-hub.ts). Requires Redis >= 6.0 (SET KEEPTTL); a single primary
 * (directly or found through Sentinel), not Redis Cluster: the scripts derive keys
 * from the prefix, which Cluster's slot routing cannot follow, so a server that
 * reports `cluster_enabled:1` is refused.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
import { deepFreeze } from './deep-freeze.js';
import { StoreConflictError, StoreUnavailableError } from './errors.js';
import type { GrantSnapshot, GrantStore, InvalidationListener, TokenFilter } from './grant-store.js';
import { decodeInvalidation, encodeInvalidation, InvalidationHub } from './invalidation-hub.js';
import { ownerState } from './owner-state.js';
import {
  CREATE_LUA,
  GET_BY_ID_LUA,
  LAST_USED_LUA,
  LIST_LUA,
  LOOKUP_MANY_LUA,
  REPLACE_LUA,
  UPDATE_LUA,
} from './redis-scripts.js';
import { compareByCreation, matchesFilter, withExpiry, withStatus } from './token-updates.js';
import { TurnBatcher } from './turn-batcher.js';

export interface StoreLogger {
  warn(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
}

export type RedisConnectionRole = 'command' | 'subscriber';

/** Why a store command failed: no answer in time, no connection, or Redis answered with an error. */
export type StoreFailureKind = 'timeout' | 'unavailable' | 'error';

/** Hooks for metrics; the store itself imports none. */
export interface StoreObserver {
  /** An invalidation arrived this long after it was published (publisher's clock; never negative). */
  invalidationLag?(seconds: number): void;
  commandFailed?(kind: StoreFailureKind): void;
}

export interface RedisSentinelOptions {
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The master group name the sentinels monitor. */
  readonly name: string;
}

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
}

const RETENTION_AFTER_EXPIRY_MS = 30 * 24 * 60 * 60 * 1000;
const LIST_BATCH = 256;
const CAS_ATTEMPTS = 5;
// Lookups per script call: bounds how long one call holds Redis (a few µs per token).
const LOOKUP_BATCH = 128;

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

interface Scripts {
  readonly lookupMany: ScriptCall;
  readonly getById: ScriptCall;
  readonly create: ScriptCall;
  readonly update: ScriptCall;
  readonly replace: ScriptCall;
  readonly list: ScriptCall;
  readonly lastUsed: ScriptCall;
}

/**
 * The shared store. Two connections: one for commands, one subscribed to the
 * invalidation channel. Fail closed: commands time out, nothing queues while
 * disconnected, and every Redis failure surfaces as StoreUnavailableError.
 */
export class RedisGrantStore implements GrantStore {
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #scripts: Scripts;
  readonly #p: string;
  readonly #channel: string;
  readonly #hub: InvalidationHub;
  readonly #logger: StoreLogger | undefined;
  readonly #observer: StoreObserver;
  readonly #timeoutMs: number;
  /** Set when the server turned out to be unusable (Redis Cluster); every call then fails. */
  #refusal: Error | null = null;
  #subscribed = false;
  #closing = false;
  #connectedOnce = false;
  readonly #waiters = new Set<{ readonly done: () => boolean; readonly resolve: () => void }>();
  readonly #warned = { command: false, subscriber: false };
  /** Lookups made in one turn of the event loop go to Redis as one script call. */
  readonly #lookups = new TurnBatcher<LookupRequest, GrantSnapshot | null>(LOOKUP_BATCH, (batch) =>
    this.#lookupMany(batch),
  );

  constructor(options: RedisGrantStoreOptions) {
    if (!Number.isInteger(options.commandTimeoutMs) || options.commandTimeoutMs <= 0) {
      throw new TypeError(`commandTimeoutMs must be a positive integer, got ${options.commandTimeoutMs}`);
    }
    if (typeof options.keyPrefix !== 'string') throw new TypeError('keyPrefix must be a string');
    this.#p = options.keyPrefix;
    this.#channel = `${this.#p}invalidate`;
    this.#logger = options.logger;
    this.#observer = options.observer ?? {};
    this.#timeoutMs = options.commandTimeoutMs;
    this.#hub = new InvalidationHub((err) => this.#warn({ err }, 'invalidation listener threw'));

    const common: RedisOptions = {
      commandTimeout: options.commandTimeoutMs,
      // Fail fast: a command in flight when the connection drops is rejected, not re-sent later.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      lazyConnect: false,
      ...(options.sentinel ? sentinelConnectionOptions(options.sentinel, options.commandTimeoutMs) : {}),
    };
    const create = options.createClient ?? ((_role, url, redisOptions) => new Redis(url, redisOptions));
    // An outage must be a 503 now, not a request parked until Redis returns.
    this.#redis = create('command', options.url, {
      ...common,
      enableOfflineQueue: false,
      // Auto-pipelining sends the next batch only once the previous one has settled:
      // with Redis hung, a lookup would wait out someone else's timeout before its
      // own (2 x command_timeout_ms). Commands written at once still share the
      // connection; each gets exactly its own timeout.
      enableAutoPipelining: false,
    });
    // Resubscription is ours (see #subscribe) so that we know when it has taken effect.
    this.#sub = create('subscriber', options.url, { ...common, autoResubscribe: false });

    this.#scripts = {
      lookupMany: defineScript(this.#redis, 'patgateLookupMany', null, LOOKUP_MANY_LUA),
      getById: defineScript(this.#redis, 'patgateGetById', 1, GET_BY_ID_LUA),
      create: defineScript(this.#redis, 'patgateCreate', 3, CREATE_LUA),
      update: defineScript(this.#redis, 'patgateUpdate', 2, UPDATE_LUA),
      replace: defineScript(this.#redis, 'patgateReplace', 3, REPLACE_LUA),
      list: defineScript(this.#redis, 'patgateList', 2, LIST_LUA),
      lastUsed: defineScript(this.#redis, 'patgateLastUsed', 1, LAST_USED_LUA),
    };

    this.#redis.on('ready', () => {
      this.#warned.command = false;
      void this.#checkServer().then(() => {
        this.#connectedOnce = true;
        this.#wake();
      });
    });
    this.#redis.on('error', (err: unknown) => this.#connectionLost('command', err));
    this.#sub.on('error', (err: unknown) => this.#connectionLost('subscriber', err));
    this.#sub.on('ready', () => {
      this.#warned.subscriber = false;
      void this.#subscribe();
    });
    this.#redis.on('close', () => this.#connectionLost('command'));
    this.#sub.on('close', () => {
      this.#subscribed = false;
      this.#connectionLost('subscriber');
    });
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) this.#onMessage(message);
    });
  }

  /**
   * Resolves once commands can be sent and the invalidation subscription is live;
   * rejects with StoreUnavailableError after `timeoutMs`. Optional: before the
   * first connection a command waits up to the command timeout for it, but
   * invalidations published before the subscription are only covered by the
   * `{kind: 'all'}` it then delivers.
   */
  async ready(timeoutMs = Math.max(this.#timeoutMs, 5000)): Promise<void> {
    await this.#waitFor(
      () =>
        this.#refusal !== null || (this.#connectedOnce && this.#redis.status === 'ready' && this.#subscribed),
      timeoutMs,
    );
    if (this.#refusal) throw new StoreUnavailableError({ cause: this.#refusal });
  }

  lookup(tokenHash: string, owner: string): Promise<GrantSnapshot | null> {
    return this.#lookups.add({ tokenHash, owner });
  }

  /** One script call for the batch; a record that cannot be read fails its own lookup only. */
  async #lookupMany(batch: readonly LookupRequest[]): Promise<(GrantSnapshot | null | Error)[]> {
    const args: string[] = [];
    for (const { tokenHash } of batch) args.push(this.#tokenKey(tokenHash));
    args.push(this.#p);
    for (const { owner } of batch) args.push(owner);
    const reply = await this.#run(() => this.#scripts.lookupMany(batch.length, ...args));
    // The batcher refuses an answer of another length; a reply that is no list at all is corrupt.
    if (!Array.isArray(reply)) throw corrupt('lookup reply');
    const answers = reply.map(decodeLookup);
    // The script answered, but not for these: counted like an error reply from Redis.
    for (const answer of answers) if (answer instanceof Error) this.#observer.commandFailed?.('error');
    return answers;
  }

  async createToken(tokenHash: string, record: TokenRecord): Promise<void> {
    const expireAt = retentionDeadline(record.expiresAt);
    const result = await this.#run(() =>
      this.#scripts.create(
        this.#tokenKey(tokenHash),
        this.#idKey(record.id),
        `${this.#p}tokens`,
        JSON.stringify(record),
        tokenHash,
        record.id,
        expireAt,
      ),
    );
    if (result === 1) throw new StoreConflictError('a token with this hash exists');
    if (result === 2) throw new StoreConflictError(`token id ${record.id} exists`);
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const current = await this.#current(id);
    return current ? parseJson<TokenRecord>(current.json) : null;
  }

  async listTokens(filter: TokenFilter): Promise<TokenRecord[]> {
    const ids = await this.#run(() => this.#redis.smembers(`${this.#p}tokens`));
    const records: TokenRecord[] = [];
    for (let i = 0; i < ids.length; i += LIST_BATCH) {
      const batch = ids.slice(i, i + LIST_BATCH);
      const reply = await this.#run(() =>
        this.#scripts.list(`${this.#p}tokens`, `${this.#p}lastused`, this.#p, ...batch),
      );
      if (!Array.isArray(reply)) throw corrupt('list reply');
      for (const json of reply as unknown[]) {
        const record = parseJson<TokenRecord>(json);
        if (matchesFilter(record, filter)) records.push(record);
      }
    }
    return records.sort(compareByCreation);
  }

  async setTokenStatus(id: string, status: TokenStatus, reason?: string): Promise<TokenRecord | null> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#current(id);
      if (!current) return null;
      const next = withStatus(parseJson<TokenRecord>(current.json), status, reason, new Date());
      const nextJson = JSON.stringify(next);
      const written = await this.#run(() =>
        this.#scripts.update(
          this.#idKey(id),
          this.#tokenKey(current.hash),
          current.hash,
          current.json,
          nextJson,
          this.#channel,
          encodeInvalidation({ kind: 'token', tokenHash: current.hash }, Date.now()),
        ),
      );
      if (written === 1) return next;
    }
    throw new StoreConflictError(`token ${id} kept changing during the update`);
  }

  async replaceTokenSecret(id: string, newHash: string, expiresAt: string): Promise<TokenRecord | null> {
    const expireAt = retentionDeadline(expiresAt);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.#current(id);
      if (!current) return null;
      const next = withExpiry(parseJson<TokenRecord>(current.json), expiresAt, new Date());
      const nextJson = JSON.stringify(next);
      const moved = await this.#run(() =>
        this.#scripts.replace(
          this.#idKey(id),
          this.#tokenKey(current.hash),
          this.#tokenKey(newHash),
          current.hash,
          current.json,
          nextJson,
          newHash,
          expireAt,
          this.#channel,
          encodeInvalidation({ kind: 'token', tokenHash: current.hash }, Date.now()),
        ),
      );
      if (moved === -1) throw new StoreConflictError('a token with the new hash exists');
      if (moved === 1) return next;
    }
    throw new StoreConflictError(`token ${id} kept changing during the update`);
  }

  async recordLastUsed(lastUsed: ReadonlyMap<string, string>): Promise<void> {
    if (lastUsed.size === 0) return;
    const args: string[] = [];
    for (const [id, at] of lastUsed) args.push(id, at);
    await this.#run(() => this.#scripts.lastUsed(`${this.#p}lastused`, ...args));
  }

  async getLastUsed(id: string): Promise<string | null> {
    return this.#run(() => this.#redis.hget(`${this.#p}lastused`, id));
  }

  async getOrgPolicy(org: string): Promise<OrgPolicy | null> {
    const json = await this.#run(() => this.#redis.get(this.#policyKey(org)));
    return json === null ? null : parseJson<OrgPolicy>(json);
  }

  async setOrgPolicy(org: string, policy: OrgPolicy): Promise<void> {
    await this.#atomic((m) => m.set(this.#policyKey(org), JSON.stringify(policy)), org);
  }

  async getMembers(org: string): Promise<ReadonlyMap<string, MemberRole>> {
    const all = await this.#run(() => this.#redis.hgetall(this.#membersKey(org)));
    const members = new Map<string, MemberRole>();
    for (const [user, role] of Object.entries(all)) {
      const known = asRole(role);
      if (known) members.set(user, known);
    }
    return members;
  }

  async setMember(org: string, user: string, role: MemberRole): Promise<void> {
    // Registering a member registers the org for good (a default policy key): removing
    // its last member later must not turn it back into an unregistered owner, or the
    // removed member's tokens would work again.
    await this.#atomic(
      (m) =>
        m
          .hset(this.#membersKey(org), user, role)
          .set(this.#policyKey(org), JSON.stringify(DEFAULT_ORG_POLICY), 'NX'),
      org,
    );
  }

  async removeMember(org: string, user: string): Promise<boolean> {
    const removed = await this.#atomic((m) => m.hdel(this.#membersKey(org), user), org);
    return removed === 1;
  }

  onInvalidate(listener: InvalidationListener): void {
    this.#hub.add(listener);
  }

  isSynchronized(): boolean {
    return this.#subscribed;
  }

  async ping(): Promise<void> {
    await this.#run(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([quit(this.#redis), quit(this.#sub)]);
  }

  /** The current hash and raw JSON of token `id`, read atomically. */
  async #current(id: string): Promise<{ hash: string; json: string } | null> {
    const reply = await this.#run(() => this.#scripts.getById(this.#idKey(id), this.#p));
    if (reply === null) return null;
    const [hash, json] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof hash !== 'string' || typeof json !== 'string') throw corrupt('token reply');
    return { hash, json };
  }

  /** One org write and its invalidation in a MULTI; resolves to the write's reply. */
  async #atomic(write: (m: ReturnType<Redis['multi']>) => unknown, org: string): Promise<unknown> {
    const results = await this.#run(() => {
      const multi = this.#redis.multi();
      write(multi);
      multi.publish(this.#channel, encodeInvalidation({ kind: 'owner', owner: org }, Date.now()));
      return multi.exec();
    });
    if (!results) throw new StoreUnavailableError({ cause: new Error('MULTI aborted') });
    for (const [err] of results) {
      if (err) throw new StoreUnavailableError({ cause: err });
    }
    return results[0]?.[1];
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new StoreUnavailableError({ cause: new Error('store closed') });
    if (this.#refusal) throw new StoreUnavailableError({ cause: this.#refusal });
    // Startup is not an outage: give the first connection the command timeout to
    // come up. Afterwards nothing waits, since the offline queue is off.
    if (!this.#connectedOnce) {
      try {
        await this.#waitFor(() => this.#connectedOnce || this.#refusal !== null, this.#timeoutMs);
      } catch (err) {
        this.#observer.commandFailed?.('unavailable');
        throw err;
      }
      if (this.#refusal) throw new StoreUnavailableError({ cause: this.#refusal });
    }
    try {
      return await command();
    } catch (err) {
      this.#observer.commandFailed?.(failureKind(err));
      throw new StoreUnavailableError({ cause: err });
    }
  }

  /**
   * Refuses a Redis Cluster node before the first command runs: the scripts read
   * keys they derive themselves, which Cluster would answer with CROSSSLOT or MOVED
   * for some tokens and not others. A server that will not say (INFO denied by an
   * ACL) is given the benefit of the doubt.
   */
  async #checkServer(): Promise<void> {
    let info: string;
    try {
      info = await this.#redis.info('cluster');
    } catch {
      return;
    }
    if (!/^cluster_enabled:1\s*$/m.test(info)) return;
    this.#refusal = new Error(
      'Redis Cluster is not supported: patgate needs a single primary (optionally found through Sentinel)',
    );
    this.#logger?.error?.({ err: this.#refusal }, 'refusing the configured Redis');
    this.#wake();
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#sub.subscribe(this.#channel);
    } catch (err) {
      if (this.#closing) return;
      this.#warn({ err }, 'invalidation subscribe failed; reconnecting');
      // A SUBSCRIBE that timed out may still take effect later, unseen: start over.
      this.#sub.disconnect(true);
      return;
    }
    this.#subscribed = true;
    this.#wake();
    // Whatever was published while we were not subscribed is lost (on the first
    // subscription too: the cache may already hold entries loaded before it).
    this.#hub.emit({ kind: 'all' });
  }

  #onMessage(message: string): void {
    const decoded = decodeInvalidation(message);
    if (decoded) {
      this.#hub.emit(decoded.event);
      if (decoded.publishedAtMs !== null) {
        // Clocks of two hosts can disagree; a negative lag is skew, not time travel.
        this.#observer.invalidationLag?.(Math.max(0, Date.now() - decoded.publishedAtMs) / 1000);
      }
      return;
    }
    this.#warn({ message }, 'unknown invalidation message; dropping every cached grant');
    this.#hub.emit({ kind: 'all' });
  }

  #connectionLost(role: RedisConnectionRole, err?: unknown): void {
    // One line per outage, not one per reconnect attempt.
    if (this.#closing || this.#warned[role]) return;
    this.#warned[role] = true;
    this.#warn(err === undefined ? { connection: role } : { err, connection: role }, 'Redis connection lost');
  }

  #warn(obj: object, msg: string): void {
    this.#logger?.warn(obj, msg);
  }

  #waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new StoreUnavailableError({ cause: new Error(`Redis not ready within ${timeoutMs} ms`) }));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  #wake(): void {
    for (const waiter of this.#waiters) {
      if (!waiter.done()) continue;
      this.#waiters.delete(waiter);
      waiter.resolve();
    }
  }

  #tokenKey(hash: string): string {
    return `${this.#p}tok:${hash}`;
  }

  #idKey(id: string): string {
    return `${this.#p}tokid:${id}`;
  }

  #policyKey(org: string): string {
    return `${this.#p}org:${org}:policy`;
  }

  #membersKey(org: string): string {
    return `${this.#p}org:${org}:members`;
  }
}

/**
 * Sentinel mode: ioredis asks the sentinels for the primary on every (re)connect.
 * The failover detector drops the connection as soon as the sentinels announce a
 * new primary, and a READONLY reply (a demoted primary still answering) forces a
 * reconnect too; the failed command is not re-sent (fail fast, the caller answers 503).
 */
export function sentinelConnectionOptions(
  sentinel: RedisSentinelOptions,
  commandTimeoutMs: number,
): RedisOptions {
  return {
    sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })),
    name: sentinel.name,
    sentinelCommandTimeout: commandTimeoutMs,
    failoverDetector: true,
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
}

function failureKind(err: unknown): StoreFailureKind {
  // ioredis's ReplyError is exported untyped; its name is stable.
  if (err instanceof Error && err.name === 'ReplyError') return 'error';
  // ioredis rejects a command past `commandTimeout` with exactly this message.
  if (err instanceof Error && err.message === 'Command timed out') return 'timeout';
  return 'unavailable';
}

/**
 * `defineCommand` sends EVALSHA, falling back to EVAL once after a script cache flush.
 * `numberOfKeys` null: the caller passes the key count first.
 */
function defineScript(client: Redis, name: string, numberOfKeys: number | null, lua: string): ScriptCall {
  client.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua });
  const method: unknown = Reflect.get(client, name);
  if (typeof method !== 'function') throw new Error(`ioredis did not define ${name}`);
  return (...args) => Reflect.apply(method, client, args) as Promise<unknown>;
}

/** Dead tokens linger 30 days past expiry so that they still answer "expired". */
function retentionDeadline(expiresAt: string): number {
  const expires = Date.parse(expiresAt);
  if (Number.isNaN(expires)) throw new TypeError(`expiresAt is not an instant: ${expiresAt}`);
  // A token imported long expired still gets the full grace period.
  return Math.max(expires, Date.now()) + RETENTION_AFTER_EXPIRY_MS;
}

interface LookupRequest {
  readonly tokenHash: string;
  readonly owner: string;
}

/** One answer of LOOKUP_MANY_LUA. */
function decodeLookup(entry: unknown): GrantSnapshot | null | Error {
  if (entry === null) return null;
  if (!Array.isArray(entry) || entry.length !== 4) return corrupt('token record');
  const [tokenJson, policyJson, role, registered] = entry as unknown[];
  try {
    const token = parseJson<TokenRecord>(tokenJson);
    const policy = policyJson === null ? null : parseJson<OrgPolicy>(policyJson);
    return deepFreeze({ token, owner: ownerState(registered === 1, policy, asRole(role)) });
  } catch (error) {
    return error instanceof Error ? error : corrupt('token record');
  }
}

function parseJson<T>(value: unknown): T {
  if (typeof value !== 'string') throw corrupt('stored value');
  try {
    return JSON.parse(value) as T;
  } catch (err) {
    throw new StoreUnavailableError({ cause: err });
  }
}

function asRole(value: unknown): MemberRole | null {
  return value === 'member' || value === 'admin' ? value : null;
}

function corrupt(what: string): StoreUnavailableError {
  return new StoreUnavailableError({ cause: new Error(`unexpected ${what} from Redis`) });
}

async function quit(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    // Not connected or not answering: nothing to say goodbye to.
  } finally {
    client.disconnect();
  }
}
