import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// Two instances share one Redis, each with a 60 s grant cache: the grace deadline
// must hold from the cached record, not from a cache expiry.
let redis: TestRedis;
let upstream: TestUpstream;
let a: GatewayProcess;
let b: GatewayProcess;

beforeAll(async () => {
  [redis, upstream] = await Promise.all([startRedisServer(), startTestUpstream()]);
  const text = stackConfig(
    { store: 'redis', keyPrefix: 'rot:', cacheTtlMs: 60_000, commandTimeoutMs: 2_000 },
    upstream.url,
    redis.url,
  );
  [a, b] = await Promise.all([startGateway(text), startGateway(text)]);
});

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await Promise.allSettled([upstream?.close(), redis?.stop()]);
});

const status = async (g: GatewayProcess, token: string): Promise<number> =>
  (await call(g.url, 'GET', '/repos/acme/api', { token })).status;

/** Polls until `token` is refused on `g`; returns when that was first seen. */
async function refusedAt(g: GatewayProcess, token: string, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if ((await status(g, token)) === 401) return Date.now();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`still accepted after ${limitMs} ms`);
}

describe('regenerate with a grace period', () => {
  it('the old secret works on every instance until the grace ends, then is refused within 1 s', async () => {
    const t = await createToken(a.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
      expires_in_days: 30,
    });
    expect([await status(a, t.token), await status(b, t.token)]).toEqual([200, 200]);

    const started = Date.now();
    const answer = await admin(a.adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, {
      grace_period_minutes: 0.05,
    });
    expect(answer.status).toBe(200);
    const fresh = String(answer.body.token);
    const graceUntil = Date.parse(String(answer.body.previous_secret_valid_until));
    expect(graceUntil - started).toBeGreaterThan(2_000);
    expect(graceUntil - started).toBeLessThanOrEqual(3_500);
    // Without an expiry in the body: the original 30-day lifetime, counted from now.
    const lifetime = Date.parse(String(answer.body.expires_at)) - started;
    expect(Math.abs(lifetime - 30 * 86_400_000)).toBeLessThan(60_000);

    // Both secrets work on both instances during the grace.
    expect([await status(a, t.token), await status(b, t.token)]).toEqual([200, 200]);
    expect([await status(a, fresh), await status(b, fresh)]).toEqual([200, 200]);

    const [onA, onB] = await Promise.all([refusedAt(a, t.token, 6_000), refusedAt(b, t.token, 6_000)]);
    for (const at of [onA, onB]) {
      expect(at).toBeGreaterThanOrEqual(graceUntil - 50);
      expect(at - graceUntil).toBeLessThan(1_000);
    }
    const refused = await call(b.url, 'GET', '/repos/acme/api', { token: t.token });
    expect(refused.text).toContain('grace period ended');
    expect([await status(a, fresh), await status(b, fresh)]).toEqual([200, 200]);
  });

  it('revoking during the grace ends both secrets on every instance', async () => {
    const t = await createToken(a.adminUrl, {
      user: 'bob',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    const answer = await admin(b.adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, {
      grace_period_minutes: 60,
    });
    const fresh = String(answer.body.token);
    expect([await status(a, t.token), await status(b, t.token)]).toEqual([200, 200]);
    const revokedAt = Date.now();
    expect((await admin(a.adminUrl, 'DELETE', `/v1/tokens/${t.id}`)).status).toBe(200);
    const times = await Promise.all(
      [a, b].flatMap((g) => [refusedAt(g, t.token, 2_000), refusedAt(g, fresh, 2_000)]),
    );
    for (const at of times) expect(at - revokedAt).toBeLessThan(1_000);
  });

  it('a second regenerate ends the first grace at once; bad grace periods are refused', async () => {
    const t = await createToken(a.adminUrl, {
      user: 'carol',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    const first = await admin(a.adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, {
      grace_period_minutes: 60,
    });
    expect(await status(b, t.token)).toBe(200);
    const second = await admin(a.adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, {
      grace_period_minutes: 60,
    });
    expect(second.status).toBe(200);
    await refusedAt(b, t.token, 1_000);
    expect(await status(b, String(first.body.token))).toBe(200);
    expect(await status(a, String(second.body.token))).toBe(200);

    for (const bad of [1441, 0, -5, '10']) {
      const refused = await admin(a.adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, {
        grace_period_minutes: bad,
      });
      expect(refused.status).toBe(400);
      expect(String(refused.body.detail)).toContain('grace_period_minutes');
    }
  });
});
