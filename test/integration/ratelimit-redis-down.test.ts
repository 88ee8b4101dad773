import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, eventually, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

/** Redis goes away: budgets go local-only, say so, and requests with cached grants keep answering. */

let redis: TestRedis;
let upstream: TestUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  [redis, upstream] = await Promise.all([startRedisServer(), startTestUpstream()]);
  const config = `${stackConfig({ store: 'redis', cacheTtlMs: 60_000 }, upstream.url, redis.url)}
rate_limits:
  default: { limit: 5, window: "1h", per: token }
`;
  gateway = await startGateway(config);
  await eventually(
    async () => (await admin(gateway.adminUrl, 'GET', '/readyz')).body.rate_limits === 'shared',
    5_000,
    'rate limits shared',
  );
}, 30_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([upstream?.close(), redis?.stop()]);
});

it('counts locally while Redis is down, says so, and shares again once it is back', async () => {
  const { token } = await createToken(gateway.adminUrl, {
    user: 'rl-down',
    resource_owner: 'rl-down',
    repositories: 'all',
    permissions: { issues: 'read' },
  });
  const path = '/repos/rl-down/r/issues';
  expect((await call(gateway.url, 'GET', path, { token })).status).toBe(200);

  await redis.kill();
  await eventually(
    async () => {
      const ready = await admin(gateway.adminUrl, 'GET', '/readyz');
      return ready.status === 503 && ready.body.rate_limits === 'local_only';
    },
    5_000,
    'readyz to report local-only',
  );
  const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  expect(metrics).toMatch(/patgate_rate_limit_local_only 1/);

  // The grant is cached: the token keeps answering, within its limit counted here alone.
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await call(gateway.url, 'GET', path, { token })).status);
  expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
  expect(statuses.slice(4)).toEqual([429, 429]);

  await redis.restart();
  await eventually(
    async () => (await admin(gateway.adminUrl, 'GET', '/readyz')).body.rate_limits === 'shared',
    10_000,
    'rate limits shared again',
  );
  // The points spent while alone were settled into the restarted Redis: the 4 spent past
  // the reservation held before the outage (that first point was lost with Redis's data).
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    await eventually(
      async () => {
        const keys = await client.keys('pgtest:rl:t:*');
        return keys.length === 1 && (await client.get(keys[0] as string)) === '4';
      },
      5_000,
      'the local count settled in Redis',
    );
  } finally {
    client.disconnect();
  }
}, 40_000);
