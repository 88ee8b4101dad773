import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/** What `CONFIG GET` said; a parameter is absent when CONFIG was refused for it. */
export interface RedisSettings {
  readonly appendonly?: string;
  readonly save?: string;
  readonly maxmemoryPolicy?: string;
}

/**
 * What in a Redis's settings puts grants at risk, each said with what to do. Persistence: a
 * Redis that restarts without its data forgets tokens and, worse, revocations and membership
 * removals, so a token revoked before a snapshot-less restart works again. Eviction: a key
 * evicted under memory pressure is a record gone the same way.
 */
export function redisWarnings(s: RedisSettings): string[] {
  const warnings: string[] = [];
  if (s.appendonly === 'no' && s.save !== undefined) {
    warnings.push(
      s.save.trim() === ''
        ? 'Redis has no persistence (appendonly no, save ""): a restart loses every token, revocation and membership; a revoked token would work again. Set "appendonly yes" (CONFIG SET appendonly yes, and in redis.conf)'
        : `Redis persists by snapshots only (appendonly no, save "${s.save}"): a restart loses the writes since the last snapshot, revocations among them. Set "appendonly yes" (CONFIG SET appendonly yes, and in redis.conf)`,
    );
  }
  if (s.maxmemoryPolicy !== undefined && s.maxmemoryPolicy !== 'noeviction') {
    warnings.push(
      `Redis may evict keys under memory pressure (maxmemory-policy ${s.maxmemoryPolicy}): an evicted grant, revocation or membership is silently lost. Set "maxmemory-policy noeviction" (CONFIG SET maxmemory-policy noeviction, and in redis.conf) and size maxmemory for the data`,
    );
  }
  return warnings;
}

/** One `CONFIG GET`; undefined when refused (ACL, a renamed command, a managed Redis). */
async function configGet(redis: Redis, parameter: string): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', parameter)) as unknown;
    if (!Array.isArray(reply)) return undefined;
    const value: unknown = reply[1];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function readRedisSettings(redis: Redis): Promise<RedisSettings> {
  const [appendonly, save, maxmemoryPolicy] = await Promise.all([
    configGet(redis, 'appendonly'),
    configGet(redis, 'save'),
    configGet(redis, 'maxmemory-policy'),
  ]);
  return {
    ...(appendonly === undefined ? {} : { appendonly }),
    ...(save === undefined ? {} : { save }),
    ...(maxmemoryPolicy === undefined ? {} : { maxmemoryPolicy }),
  };
}

export interface WarnAboutRedisOptions {
  readonly url: string;
  /** Sentinel settings, as the store's clients get them. */
  readonly redisOptions?: RedisOptions;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/**
 * Reads the Redis's settings once, on a connection of its own, and warns about each risk
 * once. Never throws and never delays startup: a Redis that cannot be reached is the store's
 * to report, and one that refuses CONFIG is taken on trust.
 */
export async function warnAboutRedis(options: WarnAboutRedisOptions): Promise<void> {
  const { logger } = options;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: options.timeoutMs,
    commandTimeout: options.timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options.redisOptions,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const settings = await readRedisSettings(redis);
    const warnings = redisWarnings(settings);
    for (const warning of warnings) logger.warn(warning);
    logger.debug({ settings, warnings: warnings.length }, 'redis settings checked');
  } catch (err) {
    logger.debug({ err }, 'redis settings not checked');
  } finally {
    redis.disconnect();
  }
}
