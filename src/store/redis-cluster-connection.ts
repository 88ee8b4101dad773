import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from './errors.js';
import { decodeInvalidation, type InvalidationHub } from './invalidation-hub.js';
import { failureKind, type ScriptCall, type StoreLogger, type StoreObserver } from './redis-connection.js';

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

export interface RedisClusterConnectionOptions {
  /** Seed nodes: any reachable one tells the client the rest. */
  readonly nodes: readonly ClusterNode[];
  /** Credentials and TLS for every node (`username`, `password`, `tls`). */
  readonly nodeOptions?: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
  readonly commandTimeoutMs: number;
  /** The sharded invalidation channel (SSUBSCRIBE / SPUBLISH). */
  readonly channel: string;
  readonly hub: InvalidationHub;
  readonly logger?: StoreLogger | undefined;
  readonly observer: StoreObserver;
}

/** How often a live subscription checks that its node still serves the channel's slot. */
const OWNER_CHECK_MS = 1_000;
const RESUBSCRIBE_MAX_DELAY_MS = 1_000;

/**
 * The connections of the Cluster store: a `Cluster` client for commands, and one
 * plain connection to the primary serving the invalidation channel's slot, holding
 * an SSUBSCRIBE (sharded pub/sub, Redis >= 7). Fail closed as the standalone
 * connection: no offline queue, every call bounded by the command timeout (the
 * Cluster client's own redirections and retries included), every failure a
 * StoreUnavailableError.
 *
 * The subscription is ours, not ioredis's: a lost connection, a slot now served by
 * another node (failover) or an error starts over from `CLUSTER SLOTS`, and each
 * time it takes effect the hub gets `{kind: 'all'}`, since whatever was published
 * meanwhile was lost.
 */
export class RedisClusterConnection {
  readonly client: Cluster;
  readonly #options: RedisClusterConnectionOptions;
  readonly #timeoutMs: number;
  #sub: Redis | null = null;
  #subscribed = false;
  #closing = false;
  #connectedOnce = false;
  #slot: number | null = null;
  #wakeLoop: (() => void) | null = null;
  readonly #loop: Promise<void>;
  readonly #waiters = new Set<{ readonly done: () => boolean; readonly resolve: () => void }>();
  readonly #warned = { command: false, subscriber: false };

  constructor(options: RedisClusterConnectionOptions) {
    if (options.nodes.length === 0) throw new TypeError('a Redis Cluster needs at least one node');
    this.#options = options;
    this.#timeoutMs = options.commandTimeoutMs;
    this.client = new Cluster(
      options.nodes.map(({ host, port }) => ({ host, port })),
      {
        redisOptions: {
          ...options.nodeOptions,
          commandTimeout: options.commandTimeoutMs,
          connectTimeout: Math.max(options.commandTimeoutMs, 1_000),
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
        },
        // An outage must be a 503 now, not a request parked until the cluster returns.
        enableOfflineQueue: false,
        enableAutoPipelining: false,
        clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: Math.max(options.commandTimeoutMs, 1_000),
        // A failover moves slots: learn the new map within a second even without a MOVED.
        slotsRefreshInterval: 1_000,
      },
    );
    this.client.on('ready', () => {
      this.#warned.command = false;
      this.#connectedOnce = true;
      this.#wake();
    });
    this.client.on('error', (err: unknown) => this.#connectionLost('command', err));
    this.client.on('node error', (err: unknown) => this.#connectionLost('command', err));
    this.#loop = this.#subscriptionLoop();
  }

  /** Resolves once commands can be sent and the invalidation subscription is live. */
  async ready(timeoutMs = Math.max(this.#timeoutMs, 5_000)): Promise<void> {
    await this.#waitFor(
      () => this.#connectedOnce && this.client.status === 'ready' && this.#subscribed,
      timeoutMs,
    );
  }

  isSubscribed(): boolean {
    return this.#subscribed;
  }

  /**
   * Runs one command (or script call) under the failure rules. The deadline covers the
   * Cluster client's redirections and retries too: a slot whose primary died answers
   * 503 after the command timeout, not after the failover.
   */
  async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new StoreUnavailableError({ cause: new Error('store closed') });
    if (!this.#connectedOnce) {
      try {
        await this.#waitFor(() => this.#connectedOnce, this.#timeoutMs);
      } catch (err) {
        this.#options.observer.commandFailed?.('unavailable');
        throw err;
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Command timed out')), this.#timeoutMs);
    });
    try {
      const running = command();
      // A command that loses the race still settles later; nobody waits for it.
      running.catch(() => undefined);
      return await Promise.race([running, deadline]);
    } catch (err) {
      this.#options.observer.commandFailed?.(failureKind(err));
      throw new StoreUnavailableError({ cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** A Lua script as a function (EVALSHA, EVAL once after a script cache flush); routed by its first key. */
  defineScript(name: string, numberOfKeys: number, lua: string): ScriptCall {
    const client = this.client;
    client.defineCommand(name, { numberOfKeys, lua });
    const method: unknown = Reflect.get(client, name);
    if (typeof method !== 'function') throw new Error(`ioredis did not define ${name}`);
    return (...args) => Reflect.apply(method, client, args) as Promise<unknown>;
  }

  /** SPUBLISH on the invalidation channel. */
  async publish(message: string): Promise<void> {
    await this.run(() => this.client.spublish(this.#options.channel, message));
  }

  warn(obj: object, msg: string): void {
    this.#options.logger?.warn(obj, msg);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#wake();
    this.#wakeLoop?.();
    // The loop's own end then finds no subscriber to close again.
    const sub = this.#sub;
    this.#sub = null;
    endSubscriber(sub);
    await this.#loop;
    try {
      // A node that died (a failover) may never answer QUIT: say goodbye within a bound.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(this.#timeoutMs, 1_000));
      });
      await Promise.race([this.client.quit(), bound]).finally(() => clearTimeout(timer));
    } catch {
      // Not connected or not answering: nothing to say goodbye to.
    } finally {
      // Only what quit left open: disconnecting a closed node connection arms the same 2 s timer.
      if (this.client.status !== 'end') this.client.disconnect();
    }
  }

  async #subscriptionLoop(): Promise<void> {
    let failures = 0;
    while (!this.#closing) {
      const lost = await this.#subscribeOnce().catch((err: unknown) => {
        this.#connectionLost('subscriber', err);
        return false;
      });
      this.#subscribed = false;
      endSubscriber(this.#sub);
      this.#sub = null;
      if (this.#closing) return;
      failures = lost ? 0 : failures + 1;
      await this.#pause(Math.min(100 * 2 ** Math.min(failures, 4), RESUBSCRIBE_MAX_DELAY_MS));
    }
  }

  /**
   * Subscribes on the node that serves the channel's slot now; resolves once that
   * subscription is over (true: it had taken effect).
   */
  async #subscribeOnce(): Promise<boolean> {
    if (!this.#connectedOnce) await this.#waitFor(() => this.#connectedOnce || this.#closing, 3_600_000);
    if (this.#closing) return false;
    const slot =
      this.#slot ?? Number(await this.run(() => this.client.cluster('KEYSLOT', this.#options.channel)));
    this.#slot = slot;
    const owner = await this.#ownerOf(slot);
    const sub = new Redis({
      ...this.#options.nodeOptions,
      host: owner.host,
      port: owner.port,
      lazyConnect: true,
      // Reconnecting is this loop's job: the node may no longer serve the slot.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      connectTimeout: Math.max(this.#timeoutMs, 1_000),
      commandTimeout: this.#timeoutMs,
    });
    this.#sub = sub;
    const over = new Promise<void>((resolve) => {
      sub.once('close', () => resolve());
      sub.once('end', () => resolve());
      // A slot moved away makes Redis end the subscription; ioredis then reports a queue error.
      sub.on('error', (err: unknown) => {
        this.#connectionLost('subscriber', err);
        resolve();
      });
    });
    sub.on('smessage', (channel: string, message: string) => {
      if (channel === this.#options.channel) this.#onMessage(message);
    });
    await sub.connect();
    await sub.ssubscribe(this.#options.channel);
    if (this.#closing) return false;
    this.#subscribed = true;
    this.#warned.subscriber = false;
    this.#wake();
    // Whatever was published while we were not subscribed is lost.
    this.#options.hub.emit({ kind: 'all' });
    const nodeKey = `${owner.host}:${owner.port}`;
    const check = setInterval(() => {
      // The client's map is refreshed every second and on every MOVED.
      const serving = this.client.slots[slot]?.[0];
      if (serving !== undefined && serving !== nodeKey) endSubscriber(sub);
    }, OWNER_CHECK_MS);
    try {
      await over;
    } finally {
      clearInterval(check);
    }
    return true;
  }

  async #ownerOf(slot: number): Promise<ClusterNode> {
    const ranges = await this.run(() => this.client.cluster('SLOTS'));
    if (Array.isArray(ranges)) {
      for (const range of ranges as unknown[]) {
        if (!Array.isArray(range)) continue;
        const [start, end, primary] = range as unknown[];
        if (typeof start !== 'number' || typeof end !== 'number' || start > slot || slot > end) continue;
        if (!Array.isArray(primary)) break;
        const [host, port] = primary as unknown[];
        if (typeof host === 'string' && host !== '' && typeof port === 'number') return { host, port };
      }
    }
    throw new Error(`no node serves slot ${slot} of the invalidation channel`);
  }

  #onMessage(message: string): void {
    const decoded = decodeInvalidation(message);
    if (decoded) {
      this.#options.hub.emit(decoded.event);
      if (decoded.publishedAtMs !== null) {
        this.#options.observer.invalidationLag?.(Math.max(0, Date.now() - decoded.publishedAtMs) / 1000);
      }
      return;
    }
    this.warn({ message }, 'unknown invalidation message; dropping every cached grant');
    this.#options.hub.emit({ kind: 'all' });
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeLoop = done;
    });
  }

  #connectionLost(role: 'command' | 'subscriber', err?: unknown): void {
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
        reject(
          new StoreUnavailableError({ cause: new Error(`Redis Cluster not ready within ${timeoutMs} ms`) }),
        );
      }, timeoutMs);
      timer.unref();
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
 * Closes a subscriber connection once. A second `disconnect()` of a connection that already closed
 * would arm ioredis's 2 s timer to destroy its socket, waiting for a 'close' that has come and
 * gone; that timer kept the process alive for 2 s after shutdown.
 */
function endSubscriber(sub: Redis | null): void {
  if (sub !== null && sub.status !== 'end') sub.disconnect();
}
