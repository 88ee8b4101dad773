import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { RedisCall } from './redis-call.js';
import { type ClusterSettings, clusterClient } from './redis-cluster-client.js';
import {
  type ConsoleSession,
  checkSessionLimits,
  type PendingSignIn,
  type SessionLimits,
  type SessionStore,
  SIGN_IN_TTL_MS,
} from './session-store.js';

export interface RedisSessionStoreOptions {
  /** The Redis to use; ignored when `cluster` is set. */
  readonly url: string;
  /** A Redis Cluster instead of `url`: each command and MULTI below touches one key. */
  readonly cluster?: ClusterSettings;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly limits: SessionLimits;
  /** Merged over the defaults: connection settings shared with the grant store (Sentinel, TLS). */
  readonly redisOptions?: RedisOptions;
  readonly now?: () => number;
}

/**
 * Console sessions in Redis:
 *
 * | key                  | type   | holds                                                    |
 * | -------------------- | ------ | -------------------------------------------------------- |
 * | `{p}session:{hash}`  | string | JSON `ConsoleSession`; TTL the idle limit, reset on use   |
 * | `{p}signin:{hash}`   | string | JSON `PendingSignIn`; TTL `SIGN_IN_TTL_MS`                |
 *
 * `{hash}` is the SHA-256 of the browser's random id; on a Cluster each key has a slot of
 * its own (no hash tag: every command and MULTI here touches one key). Redis enforces the idle limit
 * (an unused key expires); the absolute limit is checked on every use against
 * `createdAt`, and the TTL never reaches past it.
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #limits: SessionLimits;
  readonly #now: () => number;
  readonly #calls: RedisCall;

  constructor(options: RedisSessionStoreOptions) {
    checkSessionLimits(options.limits);
    this.#limits = options.limits;
    this.#prefix = options.keyPrefix;
    this.#now = options.now ?? Date.now;
    this.#redis =
      options.cluster === undefined
        ? new Redis(options.url, {
            commandTimeout: options.commandTimeoutMs,
            maxRetriesPerRequest: 0,
            enableOfflineQueue: false,
            retryStrategy: (times) => Math.min(times * 100, 2000),
            ...options.redisOptions,
          })
        : clusterClient(options.cluster, { commandTimeoutMs: options.commandTimeoutMs, offlineQueue: false });
    // Connection errors surface on the calls; the client reconnects by itself.
    this.#redis.on('error', () => {});
    this.#calls = new RedisCall(this.#redis, options.commandTimeoutMs);
  }

  /** The key of a session; exported for tests that watch it expire. */
  sessionKey(idHash: string): string {
    return `${this.#prefix}session:${idHash}`;
  }

  async create(idHash: string, session: ConsoleSession): Promise<void> {
    const ttl = this.#ttl(session, this.#now());
    await this.#call(() => this.#redis.set(this.sessionKey(idHash), JSON.stringify(session), 'PX', ttl));
  }

  async resume(idHash: string): Promise<ConsoleSession | null> {
    const key = this.sessionKey(idHash);
    // One round trip: read and restart the idle clock together.
    const replies = await this.#call(() =>
      this.#redis.multi().get(key).pexpire(key, this.#limits.idleMs).exec(),
    );
    const raw = replies?.[0]?.[1];
    if (typeof raw !== 'string') return null;
    const session = decodeSession(raw);
    const now = this.#now();
    if (session === null || now - session.createdAt >= this.#limits.absoluteMs) {
      await this.#call(() => this.#redis.del(key));
      return null;
    }
    // Near its absolute end a session's TTL stops at that end, not an idle period later.
    // Relative to this process's clock, as the check above, not Redis's.
    const remaining = session.createdAt + this.#limits.absoluteMs - now;
    if (remaining < this.#limits.idleMs) await this.#call(() => this.#redis.pexpire(key, remaining));
    return { ...session, lastSeenAt: now };
  }

  async end(idHash: string): Promise<void> {
    await this.#call(() => this.#redis.del(this.sessionKey(idHash)));
  }

  async saveSignIn(idHash: string, pending: PendingSignIn): Promise<void> {
    await this.#call(() =>
      this.#redis.set(this.#signInKey(idHash), JSON.stringify(pending), 'PX', SIGN_IN_TTL_MS),
    );
  }

  async takeSignIn(idHash: string): Promise<PendingSignIn | null> {
    const key = this.#signInKey(idHash);
    const replies = await this.#call(() => this.#redis.multi().get(key).del(key).exec());
    const raw = replies?.[0]?.[1];
    return typeof raw === 'string' ? decodeSignIn(raw) : null;
  }

  async close(): Promise<void> {
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  #signInKey(idHash: string): string {
    return `${this.#prefix}signin:${idHash}`;
  }

  #ttl(session: ConsoleSession, now: number): number {
    const remaining = session.createdAt + this.#limits.absoluteMs - now;
    return Math.max(1, Math.min(this.#limits.idleMs, remaining));
  }

  #call<T>(fn: () => Promise<T>): Promise<T> {
    return this.#calls.run(fn);
  }
}

function parseObject(raw: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A record this version cannot read is no session (the person signs in again). */
function decodeSession(raw: string): ConsoleSession | null {
  const v = parseObject(raw);
  if (
    v === null ||
    typeof v.user !== 'string' ||
    typeof v.csrfToken !== 'string' ||
    typeof v.createdAt !== 'number' ||
    typeof v.lastSeenAt !== 'number'
  ) {
    return null;
  }
  return { user: v.user, csrfToken: v.csrfToken, createdAt: v.createdAt, lastSeenAt: v.lastSeenAt };
}

function decodeSignIn(raw: string): PendingSignIn | null {
  const v = parseObject(raw);
  if (
    v === null ||
    typeof v.state !== 'string' ||
    typeof v.nonce !== 'string' ||
    typeof v.codeVerifier !== 'string' ||
    typeof v.returnTo !== 'string'
  ) {
    return null;
  }
  return { state: v.state, nonce: v.nonce, codeVerifier: v.codeVerifier, returnTo: v.returnTo };
}
