import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';

/**
 * Warnings that teach, about the Redis behind the store: no persistence, an eviction policy.
 * Read with CONFIG GET once at startup; a Redis that refuses CONFIG gets no warning.
 */
const external = Boolean(process.env.PATGATE_TEST_REDIS_URL);
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function privateRedis(settings: Record<string, string>): Promise<TestRedis> {
  const redis = await startRedisServer();
  cleanups.push(() => redis.stop());
  const admin = new Redis(redis.url);
  try {
    for (const [key, value] of Object.entries(settings)) await admin.config('SET', key, value);
  } finally {
    admin.disconnect();
  }
  return redis;
}

async function serveOn(url: string): Promise<GatewayProcess> {
  const gateway = await startGateway(`listen: "127.0.0.1:0"
upstream:
  url: "http://127.0.0.1:9"
admin:
  listen: "127.0.0.1:0"
store:
  redis_url: "${url}"
features:
  issues: [read]
routes:
  - route: "GET /status"
    public: true
`);
  cleanups.push(() => gateway.stop());
  // Logged at debug right after the warnings: once it is out, every warning is.
  await gateway.waitForLine((l) => l.includes('"redis settings checked"'));
  return gateway;
}

function redisWarnings(gateway: GatewayProcess): string[] {
  return gateway.output
    .filter((l) => l.includes('"level":40'))
    .map((l) => String((JSON.parse(l) as { msg: unknown }).msg))
    .filter((m) => m.startsWith('Redis '));
}

describe.skipIf(external)('Redis warnings at startup', { timeout: 30_000 }, () => {
  it('a Redis without persistence: once, saying to turn appendonly on', async () => {
    const redis = await privateRedis({ appendonly: 'no', save: '', 'maxmemory-policy': 'noeviction' });
    const gateway = await serveOn(redis.url);
    const warnings = redisWarnings(gateway);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Redis has no persistence .*Set "appendonly yes"/);
  });

  it('with AOF on and noeviction: nothing', async () => {
    const redis = await privateRedis({ appendonly: 'yes', 'maxmemory-policy': 'noeviction' });
    const gateway = await serveOn(redis.url);
    expect(redisWarnings(gateway)).toEqual([]);
  });

  it('an eviction policy: once, saying to use noeviction', async () => {
    const redis = await privateRedis({ appendonly: 'yes', 'maxmemory-policy': 'allkeys-lru' });
    const gateway = await serveOn(redis.url);
    const warnings = redisWarnings(gateway);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/maxmemory-policy allkeys-lru.*Set "maxmemory-policy noeviction"/);
  });

  it('a Redis that refuses CONFIG (ACL): nothing, though it has no persistence', async () => {
    const redis = await privateRedis({ appendonly: 'no', save: '', 'maxmemory-policy': 'allkeys-lru' });
    const admin = new Redis(redis.url);
    await admin.acl('SETUSER', 'gate', 'on', '>gate-secret', '~*', '&*', '+@all', '-config');
    admin.disconnect();
    const gateway = await serveOn(`redis://gate:gate-secret@127.0.0.1:${redis.port}`);
    expect(redisWarnings(gateway)).toEqual([]);
    const checked = JSON.parse(gateway.output.find((l) => l.includes('"redis settings checked"')) ?? '{}');
    expect(checked).toMatchObject({ settings: {}, warnings: 0 });
  });
});
