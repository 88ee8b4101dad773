import { Redis } from 'ioredis';
import {
  type AuditEvent,
  type AuditFilter,
  type AuditLog,
  matchesAuditFilter,
  type NewAuditEvent,
} from './audit-log.js';
import { StoreUnavailableError } from './errors.js';

export interface RedisAuditLogOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  /** Approximate bound on the stream's length (XADD MAXLEN ~). */
  readonly maxEvents: number;
}

const SCAN_BATCH = 500;

/**
 * Admin actions in a Redis stream, `{p}audit`, capped near `maxEvents`. Stream ids
 * are time-ordered, so "newest first" is XREVRANGE. Filtered reads walk the stream
 * backwards in batches and stop at `limit` matches; the cap bounds the walk.
 */
export class RedisAuditLog implements AuditLog {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #maxEvents: number;

  constructor(options: RedisAuditLogOptions) {
    this.#key = `${options.keyPrefix}audit`;
    this.#maxEvents = options.maxEvents;
    this.#redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    // Connection errors surface on the calls; the client reconnects by itself.
    this.#redis.on('error', () => {});
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const at = new Date().toISOString();
    const id = await this.#call(() =>
      this.#redis.xadd(
        this.#key,
        'MAXLEN',
        '~',
        String(this.#maxEvents),
        '*',
        'e',
        JSON.stringify({ ...event, at }),
      ),
    );
    return { ...event, id: String(id), at };
  }

  async list(filter: AuditFilter): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let end = '+';
    for (;;) {
      const batch = await this.#call(() => this.#redis.xrevrange(this.#key, end, '-', 'COUNT', SCAN_BATCH));
      for (const [id, fields] of batch) {
        const json = fields[1];
        if (json === undefined) continue;
        const event = { ...(JSON.parse(json) as Omit<AuditEvent, 'id'>), id };
        if (matchesAuditFilter(event, filter)) {
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

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new StoreUnavailableError({ cause });
    }
  }
}
