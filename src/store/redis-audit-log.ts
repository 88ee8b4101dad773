import { Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  type AuditEvent,
  type AuditFilter,
  type AuditLog,
  matchesAuditFilter,
  type NewAuditEvent,
} from './audit-log.js';
import { eventsFromAudit } from './event-types.js';
import { RedisCall } from './redis-call.js';

export interface RedisAuditLogOptions {
  /** The Redis to write to; ignored when `cluster` is set. */
  readonly url: string;
  /**
   * A Redis Cluster instead of `url`. The audit stream and the event stream are written in
   * one MULTI, so `keyPrefix` and `eventStream.key` must share a hash tag (`ClusterKeys.sidePrefix()`).
   */
  readonly cluster?: {
    readonly nodes: readonly { readonly host: string; readonly port: number }[];
    readonly nodeOptions?: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
  };
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  /** The stream keeps the newest this many events (XADD MAXLEN). */
  readonly maxEvents: number;
  /** Merged over the defaults: connection settings shared with the grant store (Sentinel, TLS). */
  readonly redisOptions?: RedisOptions;
  /**
   * Also append the webhook events of each entry to this stream (`{p}events`, see
   * webhook-redis-store.ts), in the same MULTI as the audit entry.
   */
  readonly eventStream?: { readonly key: string; readonly maxLen: number };
}

const SCAN_BATCH = 500;

/**
 * Admin actions in a Redis stream, `{p}audit`, capped at `maxEvents`. Stream ids
 * are time-ordered, so "newest first" is XREVRANGE. Filtered reads walk the stream
 * backwards in batches and stop at `limit` matches; the cap bounds the walk.
 */
export class RedisAuditLog implements AuditLog {
  readonly #redis: Redis | Cluster;
  readonly #key: string;
  readonly #maxEvents: number;
  readonly #events: RedisAuditLogOptions['eventStream'];
  readonly #calls: RedisCall;

  constructor(options: RedisAuditLogOptions) {
    if (!Number.isInteger(options.maxEvents) || options.maxEvents <= 0) {
      throw new TypeError(`maxEvents must be a positive integer, got ${options.maxEvents}`);
    }
    this.#key = `${options.keyPrefix}audit`;
    this.#maxEvents = options.maxEvents;
    this.#events = options.eventStream;
    const common = { commandTimeout: options.commandTimeoutMs, maxRetriesPerRequest: 0 };
    this.#redis =
      options.cluster === undefined
        ? new Redis(options.url, {
            ...common,
            enableOfflineQueue: false,
            retryStrategy: (times) => Math.min(times * 100, 2000),
            ...options.redisOptions,
          })
        : new Cluster(
            options.cluster.nodes.map(({ host, port }) => ({ host, port })),
            {
              redisOptions: { ...common, ...options.cluster.nodeOptions },
              enableOfflineQueue: false,
              clusterRetryStrategy: (times) => Math.min(times * 100, 2000),
              slotsRefreshInterval: 1_000,
            },
          );
    // Connection errors surface on the calls; the client reconnects by itself.
    this.#redis.on('error', () => {});
    this.#calls = new RedisCall(this.#redis, options.commandTimeoutMs);
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const at = new Date().toISOString();
    const entry = { ...event, at };
    const outbound = this.#events === undefined ? [] : eventsFromAudit(entry);
    const id = await this.#call(async () => {
      // One MULTI: the entry and its webhook events are written together or not at all.
      const multi = this.#redis.multi();
      // Exact, not `~`: admin actions are rare, so exact trimming costs nothing that
      // matters and the bound is the number the operator configured.
      multi.xadd(this.#key, 'MAXLEN', String(this.#maxEvents), '*', 'e', JSON.stringify(entry));
      for (const e of outbound) {
        if (this.#events === undefined) break;
        multi.xadd(this.#events.key, 'MAXLEN', '~', String(this.#events.maxLen), '*', 'e', JSON.stringify(e));
      }
      const results = await multi.exec();
      if (results === null) throw new Error('MULTI aborted');
      for (const [err] of results) if (err) throw err;
      return results[0]?.[1];
    });
    return { ...event, id: String(id), at };
  }

  async list(filter: AuditFilter): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let end = '+';
    for (;;) {
      const batch = await this.#call(() => this.#redis.xrevrange(this.#key, end, '-', 'COUNT', SCAN_BATCH));
      for (const [id, fields] of batch) {
        const event = decodeEvent(id, fields[1]);
        if (event !== null && matchesAuditFilter(event, filter)) {
          out.push(event);
          if (out.length >= filter.limit) return out;
        }
      }
      const last = batch[batch.length - 1];
      if (batch.length < SCAN_BATCH || last === undefined) return out;
      end = `(${last[0]}`;
    }
  }

  async close(): Promise<void> {
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  #call<T>(fn: () => Promise<T>): Promise<T> {
    return this.#calls.run(fn);
  }
}

/** An entry this version cannot read is skipped: one bad entry must not hide the rest. */
function decodeEvent(id: string, json: string | undefined): AuditEvent | null {
  if (json === undefined) return null;
  try {
    const event = JSON.parse(json) as Omit<AuditEvent, 'id'> | null;
    return typeof event === 'object' && event !== null && typeof event.actor === 'object'
      ? { ...event, id }
      : null;
  } catch {
    return null;
  }
}
