import { RateLimiterMemory } from 'rate-limiter-flexible';

export interface AuthThrottleOptions {
  /** Failed authentications an address may make within `windowSeconds` before it is refused unchecked. */
  readonly maxFailures: number;
  readonly windowSeconds: number;
}

export const DEFAULT_AUTH_THROTTLE: AuthThrottleOptions = { maxFailures: 10, windowSeconds: 60 };

/**
 * Counts failed admin authentications per client address, so that guessing the
 * site credential or a token from one address stops after a few tries a minute.
 * Only failures count: a client that authenticates is never slowed down. The
 * window is fixed from an address's first failure (rate-limiter-flexible's
 * memory limiter); each instance counts its own.
 */
export class AuthThrottle {
  readonly #limiter: RateLimiterMemory;
  readonly #max: number;

  constructor(options: AuthThrottleOptions = DEFAULT_AUTH_THROTTLE) {
    const { maxFailures, windowSeconds } = options;
    if (!Number.isSafeInteger(maxFailures) || maxFailures < 1) {
      throw new TypeError(`maxFailures must be a positive integer, got ${maxFailures}`);
    }
    if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1) {
      throw new TypeError(`windowSeconds must be a positive integer, got ${windowSeconds}`);
    }
    this.#max = maxFailures;
    this.#limiter = new RateLimiterMemory({ points: maxFailures, duration: windowSeconds });
  }

  /** Whole seconds until `address` may try again, or null if it may try now. */
  async retryAfterSeconds(address: string): Promise<number | null> {
    const state = await this.#limiter.get(address);
    if (state === null || state.consumedPoints < this.#max) return null;
    return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  }

  /**
   * Counts one failure of `address`. Returns the seconds it is now refused for,
   * if this failure used up its allowance; null otherwise.
   */
  async fail(address: string): Promise<number | null> {
    const state = await this.#limiter.penalty(address, 1);
    if (state.consumedPoints !== this.#max) return null;
    return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  }
}
