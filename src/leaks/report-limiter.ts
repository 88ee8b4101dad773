import type { Cluster, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ReportLimiter } from './credential-revoke.js';

const HOUR_SECONDS = 3_600;

/**
 * Reports per client address and hour. With Redis (one, or a Cluster: each counter is one
 * key) the budget is the fleet's (one counter per address across instances); without, this
 * process's.
 */
export function reportLimiter(
  perHour: number,
  redis?: { client: Redis | Cluster; keyPrefix: string },
  /** Names the counters, so that each endpoint has its own budget. */
  name = 'leakrl',
): ReportLimiter {
  const limiter =
    redis === undefined
      ? new RateLimiterMemory({ points: perHour, duration: HOUR_SECONDS })
      : new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: `${redis.keyPrefix}${name}`,
          points: perHour,
          duration: HOUR_SECONDS,
        });
  return {
    async take(address) {
      try {
        await limiter.consume(address);
        return { ok: true };
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
        }
        throw err;
      }
    },
  };
}
