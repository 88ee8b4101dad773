import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from './errors.js';

/**
 * Runs the commands of a Redis client that is not the grant store's (audit log, sessions) the
 * way the store does: before its first connection a command waits up to the command timeout
 * for it (startup is not an outage); afterwards nothing waits, and every failure is a
 * `StoreUnavailableError`.
 */
export class RedisCall {
  readonly #timeoutMs: number;
  readonly #connectedOnce: Promise<void>;
  #connected = false;

  constructor(redis: Redis | Cluster, timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#connectedOnce = new Promise((resolve) =>
      redis.once('ready', () => {
        this.#connected = true;
        resolve();
      }),
    );
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#connected) await this.#firstConnection();
    try {
      return await fn();
    } catch (cause) {
      throw new StoreUnavailableError({ cause });
    }
  }

  #firstConnection(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StoreUnavailableError({ cause: new Error(`Redis not ready within ${this.#timeoutMs} ms`) }),
          ),
        this.#timeoutMs,
      );
    });
    return Promise.race([this.#connectedOnce, timeout]).finally(() => clearTimeout(timer));
  }
}
