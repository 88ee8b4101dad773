import { Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from './errors.js';
import { decodeInvalidation, type InvalidationHub } from './invalidation-hub.js';

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
  /** AUTH for the sentinels themselves (`store.sentinel_password`); the primary's is in the URL. */
  readonly password?: string;
}

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

export type CreateRedisClient = (role: RedisConnectionRole, url: string, options: RedisOptions) => Redis;

export interface RedisConnectionOptions {
  readonly url: string;
  /** Upper bound on every command; past it the call rejects with StoreUnavailableError. */
  readonly commandTimeoutMs: number;
  /** The invalidation channel to subscribe to. */
  readonly channel: string;
  /** Receives what arrives on the channel, and `{kind: 'all'}` after every (re)subscription. */
  readonly hub: InvalidationHub;
  readonly logger?: StoreLogger | undefined;
  readonly sentinel?: RedisSentinelOptions | undefined;
  readonly observer: StoreObserver;
  readonly createClient?: CreateRedisClient | undefined;
}

/**
 * The two connections of a Redis store and their lifecycle: one for commands,
 * one subscribed to the invalidation channel. Fail closed: commands time out,
 * nothing queues while disconnected, and every failure surfaces as
 * StoreUnavailableError. What the commands are is the store's business.
 */
export class RedisConnection {
  /** The command connection; send through `run`, which applies the failure rules. */
  readonly client: Redis;
  readonly #sub: Redis;
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

  constructor(options: RedisConnectionOptions) {
    this.#channel = options.channel;
    this.#hub = options.hub;
    this.#logger = options.logger;
    this.#observer = options.observer;
    this.#timeoutMs = options.commandTimeoutMs;

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
    this.client = create('command', options.url, {
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

    this.client.on('ready', () => {
      this.#warned.command = false;
      void this.#checkServer().then(() => {
        this.#connectedOnce = true;
        this.#wake();
      });
    });
    this.client.on('error', (err: unknown) => this.#connectionLost('command', err));
    this.#sub.on('error', (err: unknown) => this.#connectionLost('subscriber', err));
    this.#sub.on('ready', () => {
      this.#warned.subscriber = false;
      void this.#subscribe();
    });
    this.client.on('close', () => this.#connectionLost('command'));
    this.#sub.on('close', () => {
      this.#subscribed = false;
      this.#connectionLost('subscriber');
    });
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) this.#onMessage(message);
    });
  }

  /** See `RedisGrantStore.ready`. */
  async ready(timeoutMs = Math.max(this.#timeoutMs, 5000)): Promise<void> {
    await this.#waitFor(
      () =>
        this.#refusal !== null || (this.#connectedOnce && this.client.status === 'ready' && this.#subscribed),
      timeoutMs,
    );
    if (this.#refusal) throw new StoreUnavailableError({ cause: this.#refusal });
  }

  /** True while the invalidation subscription is live. */
  isSubscribed(): boolean {
    return this.#subscribed;
  }

  /** Runs one command (or MULTI, or script call) under the failure rules; counts what fails. */
  async run<T>(command: () => Promise<T>): Promise<T> {
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
   * A Lua script as a function. `defineCommand` sends EVALSHA, falling back to EVAL
   * once after a script cache flush. `numberOfKeys` null: the caller passes the key count first.
   */
  defineScript(name: string, numberOfKeys: number | null, lua: string): ScriptCall {
    const client = this.client;
    client.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua });
    const method: unknown = Reflect.get(client, name);
    if (typeof method !== 'function') throw new Error(`ioredis did not define ${name}`);
    return (...args) => Reflect.apply(method, client, args) as Promise<unknown>;
  }

  warn(obj: object, msg: string): void {
    this.#logger?.warn(obj, msg);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([quit(this.client), quit(this.#sub)]);
  }

  /**
   * Refuses a Redis Cluster node before the first command runs: the standalone
   * layout's scripts read keys they derive themselves, which Cluster would answer with
   * CROSSSLOT or MOVED for some tokens and not others (a Cluster takes `store.cluster`
   * and its own layout, redis-keys.ts). A server that will not say (INFO denied by an
   * ACL) is given the benefit of the doubt.
   */
  async #checkServer(): Promise<void> {
    let info: string;
    try {
      info = await this.client.info('cluster');
    } catch {
      return;
    }
    if (!/^cluster_enabled:1\s*$/m.test(info)) return;
    this.#refusal = new Error(
      'this Redis is a Cluster node: configure it under store.cluster.nodes, not store.redis_url',
    );
    this.#logger?.error?.({ err: this.#refusal }, 'refusing the configured Redis');
    this.#wake();
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#sub.subscribe(this.#channel);
    } catch (err) {
      if (this.#closing) return;
      this.warn({ err }, 'invalidation subscribe failed; reconnecting');
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
    this.warn({ message }, 'unknown invalidation message; dropping every cached grant');
    this.#hub.emit({ kind: 'all' });
  }

  #connectionLost(role: RedisConnectionRole, err?: unknown): void {
    // One line per outage, not one per reconnect attempt.
    if (this.#closing || this.#warned[role]) return;
    this.#warned[role] = true;
    this.warn(err === undefined ? { connection: role } : { err, connection: role }, 'Redis connection lost');
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
    ...(sentinel.password === undefined ? {} : { sentinelPassword: sentinel.password }),
    sentinelCommandTimeout: commandTimeoutMs,
    failoverDetector: true,
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
}

export function failureKind(err: unknown): StoreFailureKind {
  // ioredis's ReplyError is exported untyped; its name is stable.
  if (err instanceof Error && err.name === 'ReplyError') return 'error';
  // ioredis rejects a command past `commandTimeout` with exactly this message.
  if (err instanceof Error && err.message === 'Command timed out') return 'timeout';
  return 'unavailable';
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
