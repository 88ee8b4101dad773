import type { RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { EventSink } from '../store/event-types.js';
import type { ClusterSettings } from '../store/redis-cluster-client.js';
import { ClusterKeys } from '../store/redis-keys.js';
import { MemoryWebhookStore } from '../store/webhook-memory-store.js';
import { eventStreamKey, RedisWebhookStore } from '../store/webhook-redis-store.js';
import type { WebhookStore } from '../store/webhook-store.js';
import { DeliveryWorker } from './delivery-worker.js';
import { WebhookSender } from './sender.js';

/** Events past this many in the stream are trimmed (XADD MAXLEN ~): fan-out keeps far ahead. */
export const EVENT_STREAM_MAX_LEN = 100_000;
const RETRY_WINDOW_MS = 24 * 3_600_000;

export interface WebhookRuntime {
  readonly store: WebhookStore;
  /** Where the audit log writes events: a stream key (Redis) or an in-process sink (memory). */
  readonly audit:
    | { readonly kind: 'stream'; readonly key: string; readonly maxLen: number }
    | { readonly kind: 'sink'; readonly sink: EventSink };
  readonly allowPrivateTargets: boolean;
  start(): void;
  close(): Promise<void>;
}

export interface WebhookRuntimeOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Use the in-process store (memory grant store, or one shared by the demo). */
  readonly memory: boolean;
  /** Connection settings shared with the grant store (Sentinel, TLS). */
  readonly redisOptions?: RedisOptions;
  /** `store.cluster`: the webhook state lives on the Cluster, beside the audit stream. */
  readonly cluster?: ClusterSettings;
}

/** The webhook store, where events are written, and the delivery worker, for `app/runtime.ts`. */
export function buildWebhookRuntime(options: WebhookRuntimeOptions): WebhookRuntime {
  const { config, logger } = options;
  const settings = config.webhooks;
  const redisUrl = config.store.redis_url;
  let store: WebhookStore;
  let audit: WebhookRuntime['audit'];
  if (!options.memory && options.cluster !== undefined) {
    // One slot with the audit stream (the audit entry and its events are one MULTI) and the
    // expiry index (a settled notice and its events are one script).
    const keyPrefix = new ClusterKeys(config.store.key_prefix).sidePrefix();
    store = new RedisWebhookStore({
      url: '',
      cluster: options.cluster,
      keyPrefix,
      commandTimeoutMs: config.store.command_timeout_ms,
    });
    audit = { kind: 'stream', key: eventStreamKey(keyPrefix), maxLen: EVENT_STREAM_MAX_LEN };
  } else if (options.memory || redisUrl === undefined) {
    const memory = new MemoryWebhookStore();
    store = memory;
    audit = { kind: 'sink', sink: memory };
  } else {
    store = new RedisWebhookStore({
      url: redisUrl,
      keyPrefix: config.store.key_prefix,
      commandTimeoutMs: config.store.command_timeout_ms,
      ...(options.redisOptions === undefined ? {} : { redisOptions: options.redisOptions }),
    });
    audit = { kind: 'stream', key: eventStreamKey(config.store.key_prefix), maxLen: EVENT_STREAM_MAX_LEN };
  }
  const sender = new WebhookSender({
    timeoutMs: settings.timeout_ms,
    allowPrivateTargets: settings.allow_private_targets,
  });
  const worker = new DeliveryWorker({
    store,
    sender,
    logger,
    maxAttempts: settings.max_attempts,
    backoff: { baseMs: settings.backoff_base_ms, maxMs: settings.backoff_max_ms },
    retryWindowMs: RETRY_WINDOW_MS,
    concurrency: settings.concurrency,
    concurrencyPerSubscription: Math.min(settings.concurrency_per_subscription, settings.concurrency),
    pollIntervalMs: settings.poll_interval_ms,
    // Longer than any attempt can take, so a live holder always finishes first.
    leaseMs: 2 * settings.timeout_ms + 1_000,
  });
  return {
    store,
    audit,
    allowPrivateTargets: settings.allow_private_targets,
    start: () => worker.start(),
    async close() {
      // The store's blocking read goes first: during a Redis failover it could wait on a queued
      // command for as long as the outage lasts, and shutdown must not. An attempt cut off here
      // is delivered again once its lease ends (at least once).
      await Promise.all([worker.close(), sender.close(), store.close()]);
    },
  };
}
