import type { Cluster, Redis } from 'ioredis';
import { Bucket, type SyncRequest } from './bucket.js';

/**
 * One reconcile of one budget, atomically: the base is added as it is, then as much of `want`
 * as the limit leaves is granted. A value that is no non-negative integer (written by anyone
 * but patgate) counts as the limit: spent, never free.
 * KEYS: the count. ARGV: base, want, limit, expire-at (ms). Returns {count, grant}.
 */
const SYNC_LUA = `
local limit = tonumber(ARGV[3])
local raw = redis.call('GET', KEYS[1])
local count = 0
if raw then
  count = tonumber(raw)
  if count == nil or count < 0 or count ~= math.floor(count) then count = limit end
end
count = count + tonumber(ARGV[1])
if count < 0 then count = 0 end
local grant = 0
local want = tonumber(ARGV[2])
if want > 0 and count < limit then grant = math.min(want, limit - count) end
count = count + grant
redis.call('SET', KEYS[1], count)
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return {count, grant}
`;

/** Where the reconciler reports (metrics, logs). */
export interface ReconcileObserver {
  /** One reconcile round trip's duration, seconds. */
  reconciled?(seconds: number): void;
  /** Local-only mode began (`true`) or ended (`false`). */
  localOnly?(on: boolean, cause?: unknown): void;
}

export interface ReconcilerOptions {
  /**
   * Null: no shared store, every budget is this process's alone. A Cluster client gets one
   * script call per budget (each key in its own slot; a Cluster pipeline must stay in one).
   */
  readonly redis: Redis | Cluster | null;
  /** The Redis key of a budget's count in the window starting at `start`. */
  readonly keyOf: (subject: string, start: number) => string;
  readonly intervalMs: number;
  readonly now?: () => number;
  readonly observer?: ReconcileObserver;
}

type SyncCommand = (
  key: string,
  base: number,
  want: number,
  limit: number,
  expireAt: number,
) => Promise<unknown>;
interface RateSync {
  patgateRateSync: SyncCommand;
}
type SyncingRedis = (Redis | Cluster) & RateSync;
/** What a pipeline's exec answers: one [error, reply] per command. */
type Replies = [Error | null, unknown][] | null;

/** Kept this long past a window's end, so that a late reconcile still finds the count. */
const EXPIRY_SLACK_MS = 60_000;
/** Without Redis, past windows are swept once this many budgets exist (then at twice what is left). */
const LOCAL_SWEEP_MIN = 1_024;

/**
 * The shared side of the budgets: every `intervalMs` (and at once when a request waits) one
 * pipelined script call per active budget, never a round trip per request. With Redis
 * unreachable every budget counts locally (`shared` false) until a reconcile succeeds again.
 */
export class Reconciler {
  readonly #redis: SyncingRedis | null;
  readonly #keyOf: ReconcilerOptions['keyOf'];
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #observer: ReconcileObserver;
  readonly #buckets = new Map<string, Bucket>();
  readonly #timer: NodeJS.Timeout | null;
  #shared: boolean;
  #running = false;
  #again = false;
  #scheduled = false;
  #closed = false;
  #lastSuccess = 0;
  #sweepAt = LOCAL_SWEEP_MIN;
  /** Resolved when the reconcile after the current one ends; what waiting requests wait on. */
  #next: Promise<void> | null = null;
  #resolveNext: (() => void) | null = null;

  constructor(options: ReconcilerOptions) {
    this.#keyOf = options.keyOf;
    this.#intervalMs = options.intervalMs;
    this.#now = options.now ?? Date.now;
    this.#observer = options.observer ?? {};
    const redis = options.redis as SyncingRedis | null;
    if (redis !== null) redis.defineCommand('patgateRateSync', { numberOfKeys: 1, lua: SYNC_LUA });
    this.#redis = redis;
    // Local-only until the first reconcile answers: nothing waits on a Redis not yet connected.
    this.#shared = false;
    this.#timer = redis === null ? null : setInterval(() => this.#sync(), this.#intervalMs);
    this.#timer?.unref();
  }

  /** True while budgets are shared through Redis; false in local-only mode (or without Redis). */
  get shared(): boolean {
    return this.#shared;
  }

  /** Whether a Redis is configured at all. */
  get distributed(): boolean {
    return this.#redis !== null;
  }

  /** Milliseconds since the last successful reconcile; null before the first or without Redis. */
  lagMs(): number | null {
    return this.#lastSuccess === 0 ? null : this.#now() - this.#lastSuccess;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** The bucket of a budget subject; one Map read on the hot path once it exists. */
  bucket(key: string, windowMs: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#redis === null && this.#buckets.size >= this.#sweepAt) this.#sweepLocal();
      bucket = new Bucket(key, windowMs);
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  /**
   * Without Redis no reconcile runs to drop idle budgets, and every distinct user, token or org
   * would keep one for good. A bucket starts each window afresh, so those of past windows go;
   * the sweep runs as the count doubles, so its cost is spread over the budgets created.
   */
  #sweepLocal(): void {
    const now = this.#now();
    for (const [key, bucket] of this.#buckets) {
      if (now >= bucket.windowStart + bucket.windowMs) this.#buckets.delete(key);
    }
    this.#sweepAt = Math.max(LOCAL_SWEEP_MIN, 2 * this.#buckets.size);
  }

  /** Peeks without creating (the status endpoint). */
  peek(key: string): Bucket | undefined {
    return this.#buckets.get(key);
  }

  /** Resolves after the next reconcile, which starts at once; never rejects. */
  next(): Promise<void> {
    if (this.#next === null) {
      this.#next = new Promise((resolve) => {
        this.#resolveNext = resolve;
      });
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#sync();
      });
    }
    return this.#next;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#wake();
  }

  #wake(): void {
    const resolve = this.#resolveNext;
    this.#next = null;
    this.#resolveNext = null;
    resolve?.();
  }

  #sync(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    const redis = this.#redis;
    if (redis === null) {
      this.#wake();
      return;
    }
    const now = this.#now();
    const batch: [Bucket, SyncRequest][] = [];
    for (const [key, bucket] of this.#buckets) {
      const request = bucket.prepare(now, this.#intervalMs);
      if (request !== null) batch.push([bucket, request]);
      else if (!bucket.syncing && now >= bucket.windowStart + bucket.windowMs + this.#intervalMs) {
        // A past window: Redis's count expires on its own.
        this.#buckets.delete(key);
      }
    }
    // The waiters of this round are answered by it; later ones by the next.
    const resolve = this.#resolveNext;
    this.#next = null;
    this.#resolveNext = null;
    this.#running = true;
    const started = performance.now();
    const calls = batch.map(
      ([bucket, request]) =>
        [
          this.#keyOf(bucket.key, request.windowStart),
          request.base,
          request.want,
          request.limit,
          request.windowStart + bucket.windowMs + EXPIRY_SLACK_MS,
        ] as const,
    );
    let replies: Promise<Replies>;
    if (redis.isCluster) {
      // Each call alone (the client pipelines them per node); without a budget to reconcile,
      // a PING says whether the cluster answers.
      replies = Promise.all(
        batch.length === 0
          ? [settled(redis.ping())]
          : calls.map((args) => settled(redis.patgateRateSync(...args))),
      );
    } else {
      const pipeline = redis.pipeline();
      for (const args of calls) (pipeline as unknown as RateSync).patgateRateSync(...args);
      // Without a budget to reconcile, a PING says whether Redis is back.
      if (batch.length === 0) pipeline.ping();
      replies = pipeline.exec();
    }
    replies.then(
      (results) => {
        let failure: unknown = null;
        for (let i = 0; i < batch.length; i++) {
          const [bucket] = batch[i] as [Bucket, SyncRequest];
          const [error, reply] = results?.[i] ?? [new Error('no reply'), null];
          const counts = error === null ? replyCounts(reply) : null;
          if (counts === null) {
            failure ??= error ?? new Error('unexpected reconcile reply from Redis');
            bucket.fail();
          } else {
            bucket.acknowledge(counts[0], counts[1]);
          }
        }
        if (batch.length === 0 && results?.[0]?.[0]) failure = results[0][0];
        this.#settle(failure, started, resolve);
      },
      (error: unknown) => {
        for (const [bucket] of batch) bucket.fail();
        this.#settle(error ?? new Error('reconcile failed'), started, resolve);
      },
    );
  }

  #settle(failure: unknown, started: number, resolve: (() => void) | null): void {
    this.#running = false;
    if (failure === null) {
      this.#lastSuccess = this.#now();
      this.#observer.reconciled?.((performance.now() - started) / 1000);
      if (!this.#shared) {
        this.#shared = true;
        this.#observer.localOnly?.(false);
      }
    } else if (this.#shared) {
      this.#shared = false;
      this.#observer.localOnly?.(true, failure);
    }
    resolve?.();
    if (this.#again || this.#resolveNext !== null) {
      this.#again = false;
      this.#sync();
    }
  }
}

/** A call's outcome as a pipeline reports it, `[error, reply]`; never rejects. */
function settled(call: Promise<unknown>): Promise<[Error | null, unknown]> {
  return call.then(
    (reply): [Error | null, unknown] => [null, reply],
    (error: unknown): [Error | null, unknown] => [
      error instanceof Error ? error : new Error(String(error)),
      null,
    ],
  );
}

/** `[count, grant]` as two non-negative integers, or null for anything else (a hostile reply). */
function replyCounts(reply: unknown): [number, number] | null {
  if (!Array.isArray(reply) || reply.length !== 2) return null;
  const [count, grant] = reply as unknown[];
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(grant)) return null;
  if ((count as number) < 0 || (grant as number) < 0) return null;
  return [count as number, grant as number];
}
