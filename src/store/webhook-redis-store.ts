import { randomBytes } from 'node:crypto';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from './errors.js';
import { type OutboundEvent, payloadOf } from './event-types.js';
import { type ClusterSettings, clusterClient } from './redis-cluster-client.js';
import { CLAIM_LUA, COMPLETE_LUA, FAN_OUT_LUA, REDELIVER_LUA } from './webhook-scripts.js';
import {
  type AttemptOutcome,
  type Claim,
  type ClaimCap,
  type Delivery,
  type DeliveryStatus,
  deliveryIdOf,
  type StreamedEvent,
  type Subscription,
  type WebhookStore,
} from './webhook-store.js';

export interface RedisWebhookStoreOptions {
  /** The Redis to use; ignored when `cluster` is set. */
  readonly url: string;
  /**
   * A Redis Cluster instead of `url`. Every key of this store must then share one hash slot:
   * `keyPrefix` carries a hash tag (`ClusterKeys.sidePrefix()`, the audit stream's).
   */
  readonly cluster?: ClusterSettings;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  /** Merged over the defaults: connection settings shared with the grant store (Sentinel, TLS). */
  readonly redisOptions?: RedisOptions;
}

/** The consumer group every instance reads the event stream in. */
const GROUP = 'patgate-webhooks';
/** A delivery's record is kept this long after it was created (its log entry). */
const DELIVERY_RETENTION_MS = 30 * 24 * 3_600_000;
/** Log entries kept per subscription. */
const DELIVERIES_KEPT = 1_000;
/**
 * Due deliveries one claim looks at, at most. Past this many due at once for subscriptions
 * at their cap, the ones behind wait until that backlog drains below it (docs/events.md).
 */
const CLAIM_WINDOW = 1_000;

/** The event stream key for a prefix: where RedisAuditLog appends. */
export function eventStreamKey(keyPrefix: string): string {
  return `${keyPrefix}events`;
}

/** A key prefix that pins every key built from it to one Cluster slot: it holds a non-empty `{tag}`. */
const HASH_TAGGED = /\{[^}]+\}/;

/**
 * Durable webhook state in Redis or a Redis Cluster (layout in webhook-scripts.ts). Two
 * clients: one for commands (with the store's timeout), one for the blocking stream read.
 * On a Cluster every key is in the slot of the prefix's hash tag, so the scripts, MULTIs
 * and pipelines below run there exactly as on one Redis.
 */
export class RedisWebhookStore implements WebhookStore {
  readonly #redis: Redis | Cluster;
  readonly #blocking: Redis | Cluster;
  readonly #prefix: string;
  readonly #stream: string;
  readonly #subs: string;
  readonly #due: string;
  #groupReady = false;

  constructor(options: RedisWebhookStoreOptions) {
    const { cluster } = options;
    if (cluster !== undefined && !HASH_TAGGED.test(options.keyPrefix)) {
      throw new TypeError(
        `on a Redis Cluster the webhook keyPrefix needs a hash tag, got "${options.keyPrefix}"`,
      );
    }
    this.#prefix = options.keyPrefix;
    this.#stream = eventStreamKey(options.keyPrefix);
    this.#subs = `${options.keyPrefix}wh:subs`;
    this.#due = `${options.keyPrefix}wh:due`;
    if (cluster === undefined) {
      const base: RedisOptions = {
        maxRetriesPerRequest: 0,
        retryStrategy: (times) => Math.min(times * 100, 2000),
        ...options.redisOptions,
      };
      this.#redis = new Redis(options.url, { ...base, commandTimeout: options.commandTimeoutMs });
      // No command timeout: XREADGROUP BLOCK waits on purpose.
      this.#blocking = new Redis(options.url, base);
    } else {
      // Queued until the cluster is ready, as the standalone clients' commands are.
      this.#redis = clusterClient(cluster, {
        commandTimeoutMs: options.commandTimeoutMs,
        offlineQueue: true,
      });
      this.#blocking = clusterClient(cluster, { commandTimeoutMs: null, offlineQueue: true });
    }
    for (const client of [this.#redis, this.#blocking]) {
      client.on('error', () => {});
      // The number of keys varies with the subscriptions reached: it is the first argument.
      client.defineCommand('whFanOut', { lua: FAN_OUT_LUA });
      client.defineCommand('whClaim', { numberOfKeys: 2, lua: CLAIM_LUA });
      client.defineCommand('whComplete', { numberOfKeys: 2, lua: COMPLETE_LUA });
      client.defineCommand('whRedeliver', { numberOfKeys: 2, lua: REDELIVER_LUA });
    }
  }

  async createSubscription(sub: Subscription): Promise<void> {
    await this.#call(() => this.#redis.hset(this.#subs, sub.id, JSON.stringify(sub)));
  }

  async listSubscriptions(org: string | null): Promise<Subscription[]> {
    const all = await this.#all();
    return all.filter((s) => s.org === org).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async getSubscription(id: string): Promise<Subscription | null> {
    const json = await this.#call(() => this.#redis.hget(this.#subs, id));
    return json === null ? null : decodeSubscription(json);
  }

  async setSecrets(id: string, secrets: Subscription['secrets']): Promise<Subscription | null> {
    const current = await this.getSubscription(id);
    if (current === null) return null;
    const next = { ...current, secrets: [...secrets] };
    await this.#call(() => this.#redis.hset(this.#subs, id, JSON.stringify(next)));
    return next;
  }

  async deleteSubscription(id: string): Promise<boolean> {
    const removed = await this.#call(() =>
      this.#redis.multi().hdel(this.#subs, id).del(this.#listKey(id)).exec(),
    );
    return removed?.[0]?.[1] === 1;
  }

  async listDeliveries(subscriptionId: string, limit: number): Promise<Delivery[]> {
    const ids = await this.#call(() => this.#redis.zrevrange(this.#listKey(subscriptionId), 0, limit - 1));
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#deliveryKey(subscriptionId, id));
    const replies = await this.#call(() => pipeline.exec());
    const out: Delivery[] = [];
    for (const [err, fields] of replies ?? []) {
      if (err) throw new StoreUnavailableError({ cause: err });
      const delivery = decodeDelivery(fields as Record<string, string>);
      if (delivery !== null) out.push(delivery);
    }
    return out;
  }

  async redeliver(subscriptionId: string, deliveryId: string, now: number): Promise<Delivery | null> {
    const key = this.#deliveryKey(subscriptionId, deliveryId);
    const done = await this.#call(() =>
      (this.#redis as unknown as Scripts).whRedeliver(
        this.#due,
        key,
        `${subscriptionId}/${deliveryId}`,
        String(now),
        new Date(now).toISOString(),
      ),
    );
    if (done !== 1) return null;
    const fields = await this.#call(() => this.#redis.hgetall(key));
    return decodeDelivery(fields);
  }

  async readEvents(
    consumer: string,
    count: number,
    blockMs: number,
    reclaimAfterMs: number,
  ): Promise<StreamedEvent[]> {
    await this.#ensureGroup();
    // Entries a consumer read and never acknowledged (it died before fanning out).
    const reclaimed = (await this.#call(() =>
      this.#redis.call('XAUTOCLAIM', this.#stream, GROUP, consumer, reclaimAfterMs, '0-0', 'COUNT', count),
    )) as [string, [string, string[]][] | null, string[]?];
    const out = decodeEntries(reclaimed[1] ?? []);
    if (out.length > 0) return out;
    const reply = (await this.#call(() =>
      this.#blocking.call(
        'XREADGROUP',
        'GROUP',
        GROUP,
        consumer,
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        this.#stream,
        '>',
      ),
    )) as [string, [string, string[]][]][] | null;
    return decodeEntries(reply?.[0]?.[1] ?? []);
  }

  async fanOut(streamed: StreamedEvent, subscriptions: readonly Subscription[], now: number): Promise<void> {
    const event = streamed.event;
    const deliveryId = deliveryIdOf(streamed.streamId);
    const targets = event === null ? [] : subscriptions.map((s) => s.id);
    const keys = [this.#stream, this.#due];
    for (const sub of targets) keys.push(this.#deliveryKey(sub, deliveryId), this.#listKey(sub));
    await this.#call(() =>
      (this.#redis as unknown as Scripts).whFanOut(
        String(keys.length),
        ...keys,
        GROUP,
        streamed.streamId,
        deliveryId,
        event?.type ?? '',
        event === null ? '' : payloadOf(event),
        String(now),
        new Date(now).toISOString(),
        String(DELIVERY_RETENTION_MS),
        String(DELIVERIES_KEPT),
        ...targets,
      ),
    );
  }

  async claimDue(now: number, max: number, leaseMs: number, cap: ClaimCap): Promise<Claim[]> {
    const leasePrefix = `${randomBytes(8).toString('hex')}-`;
    const held: string[] = [];
    for (const [sub, count] of cap.inFlight) held.push(sub, String(count));
    const reply = (await this.#call(() =>
      (this.#redis as unknown as Scripts).whClaim(
        this.#due,
        this.#subs,
        this.#prefix,
        String(now),
        String(max),
        String(now + leaseMs),
        new Date(now).toISOString(),
        leasePrefix,
        String(cap.perSubscription),
        String(CLAIM_WINDOW),
        ...held,
      ),
    )) as [string, string[], string | null][];
    const claims: Claim[] = [];
    for (const [, flat, subJson] of reply) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      const delivery = decodeDelivery(fields);
      if (delivery === null) continue;
      claims.push({
        delivery,
        subscription: subJson === null ? null : decodeSubscription(subJson),
        payload: fields.payload ?? '',
        lease: fields.lease ?? '',
        roundStart: Number(fields.round_start ?? now),
      });
    }
    return claims;
  }

  async complete(claim: Claim, outcome: AttemptOutcome): Promise<boolean> {
    const { delivery } = claim;
    const status: DeliveryStatus =
      outcome.kind === 'retry' ? 'pending' : outcome.kind === 'delivered' ? 'delivered' : 'failed';
    const nextAt = outcome.kind === 'retry' ? outcome.nextAt : null;
    const written = await this.#call(() =>
      (this.#redis as unknown as Scripts).whComplete(
        this.#due,
        this.#deliveryKey(delivery.subscriptionId, delivery.id),
        `${delivery.subscriptionId}/${delivery.id}`,
        claim.lease,
        status,
        outcome.code === null ? '' : String(outcome.code),
        outcome.kind === 'delivered' ? '' : outcome.error,
        nextAt === null ? '' : String(nextAt),
        nextAt === null ? '' : new Date(nextAt).toISOString(),
      ),
    );
    return written === 1;
  }

  async close(): Promise<void> {
    this.#blocking.disconnect();
    // QUIT is queued while the connection is down; shutdown waits for it a moment at most.
    const quit = this.#redis.quit().catch(() => undefined);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 500).unref());
    await Promise.race([quit, timer]);
    this.#redis.disconnect();
  }

  async #all(): Promise<Subscription[]> {
    const all = await this.#call(() => this.#redis.hvals(this.#subs));
    return all.map(decodeSubscription).filter((s): s is Subscription => s !== null);
  }

  /** Every subscription, for fan-out. */
  allSubscriptions(): Promise<Subscription[]> {
    return this.#all();
  }

  #deliveryKey(subscriptionId: string, deliveryId: string): string {
    return `${this.#prefix}wh:d:${subscriptionId}:${deliveryId}`;
  }

  #listKey(subscriptionId: string): string {
    return `${this.#prefix}wh:list:${subscriptionId}`;
  }

  async #ensureGroup(): Promise<void> {
    if (this.#groupReady) return;
    try {
      await this.#call(() => this.#redis.xgroup('CREATE', this.#stream, GROUP, '0', 'MKSTREAM'));
    } catch (err) {
      if (!String((err as { cause?: unknown }).cause).includes('BUSYGROUP')) throw err;
    }
    this.#groupReady = true;
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new StoreUnavailableError({ cause });
    }
  }
}

type ScriptFn = (...args: string[]) => Promise<unknown>;
interface Scripts {
  whFanOut: ScriptFn;
  whClaim: ScriptFn;
  whComplete: ScriptFn;
  whRedeliver: ScriptFn;
}

function decodeEntries(entries: [string, string[]][]): StreamedEvent[] {
  return entries
    .filter((e) => e !== null && Array.isArray(e[1]))
    .map(([streamId, fields]) => ({ streamId, event: decodeEvent(fields[1]) }));
}

function decodeEvent(json: string | undefined): OutboundEvent | null {
  if (json === undefined) return null;
  try {
    const e = JSON.parse(json) as OutboundEvent;
    return typeof e === 'object' && e !== null && typeof e.type === 'string' ? e : null;
  } catch {
    return null;
  }
}

export function decodeSubscription(json: string): Subscription | null {
  try {
    const s = JSON.parse(json) as Subscription;
    return typeof s === 'object' && s !== null && typeof s.id === 'string' && Array.isArray(s.secrets)
      ? s
      : null;
  } catch {
    return null;
  }
}

function decodeDelivery(f: Record<string, string>): Delivery | null {
  if (f.id === undefined || f.sub === undefined) return null;
  const orNull = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
  const code = orNull(f.last_code);
  return {
    id: f.id,
    subscriptionId: f.sub,
    eventType: f.type as Delivery['eventType'],
    status: (f.status ?? 'pending') as DeliveryStatus,
    attempts: Number(f.attempts ?? 0),
    createdAt: f.created_at ?? '',
    lastAttemptAt: orNull(f.last_at),
    lastResponseCode: code === null ? null : Number(code),
    lastError: orNull(f.last_error),
    nextAttemptAt: orNull(f.next_at),
  };
}
