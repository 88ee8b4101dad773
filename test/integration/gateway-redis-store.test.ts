import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, eventually, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// The rows of the response table that only a shared store can show: grants that
// survive a gateway restart, and a 503 (never an allow) when they cannot be read.
describe('gateway on the Redis store', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;

  beforeAll(async () => {
    redis = await startRedisServer();
    upstream = await startTestUpstream();
  });

  afterAll(async () => {
    await upstream?.close();
    await redis?.stop();
  });

  const config = (): string =>
    stackConfig({ store: 'redis', keyPrefix: 'restart:' }, upstream.url, redis.url);

  it('keeps tokens, revocations and org state across a gateway restart', async () => {
    const first = await startGateway(config());
    let kept: Awaited<ReturnType<typeof createToken>>;
    let revoked: Awaited<ReturnType<typeof createToken>>;
    try {
      kept = await createToken(first.adminUrl, {
        user: 'alice',
        resource_owner: 'acme',
        repositories: ['api'],
        permissions: { issues: 'read' },
      });
      revoked = await createToken(first.adminUrl, {
        user: 'alice',
        resource_owner: 'acme',
        repositories: ['api'],
        permissions: { issues: 'read' },
      });
      expect((await admin(first.adminUrl, 'DELETE', `/v1/tokens/${revoked.id}`)).status).toBe(200);
      expect(
        (await admin(first.adminUrl, 'PUT', '/v1/orgs/globex/policy', { classic_tokens: 'blocked' })).status,
      ).toBe(200);
    } finally {
      expect(await first.stop('SIGTERM')).toBe(0);
    }

    const second = await startGateway(config());
    try {
      expect((await call(second.url, 'GET', '/repos/acme/api/issues', { token: kept.token })).status).toBe(
        200,
      );
      const refused = await call(second.url, 'GET', '/repos/acme/api/issues', { token: revoked.token });
      expect(refused.status).toBe(401);
      expect(refused.json().detail).toMatch(/revoked/);
      const shown = await admin(second.adminUrl, 'GET', `/v1/tokens/${kept.id}`);
      expect(shown.status).toBe(200);
      expect(shown.body.user).toBe('alice');
      expect(shown.body).not.toHaveProperty('token');
      const policy = await admin(second.adminUrl, 'GET', '/v1/orgs/globex/policy');
      expect(policy.body).toMatchObject({ registered: true, classic_tokens: 'blocked' });
    } finally {
      await second.stop();
    }
  });

  it('answers 503 with Retry-After, never an allow, when grants cannot be read', async () => {
    const gateway = await startGateway(config());
    try {
      const cached = await createToken(gateway.adminUrl, {
        user: 'bob',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const uncached = await createToken(gateway.adminUrl, {
        user: 'carol',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      // Warm the cache for one token only.
      expect((await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: cached.token })).status).toBe(
        200,
      );

      await redis.kill();
      try {
        const answer = await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: uncached.token });
        expect(answer.status).toBe(503);
        expect(answer.headers['retry-after']).toBe('1');
        expect(answer.headers['content-type']).toBe('application/problem+json');
        expect(answer.json().status).toBe(503);
        const ready = await call(gateway.adminUrl, 'GET', '/readyz');
        expect(ready.status).toBe(503);
        // A grant loaded less than cache.ttl_ms ago keeps serving (the documented rule).
        expect(
          (await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: cached.token })).status,
        ).toBe(200);
      } finally {
        await redis.restart();
      }
      await eventually(
        async () => (await call(gateway.adminUrl, 'GET', '/readyz')).status === 200,
        10_000,
        'readiness after Redis returns',
      );
    } finally {
      await gateway.stop();
    }
  });
});
