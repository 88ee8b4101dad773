import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import {
  admin,
  type CreatedToken,
  call,
  createToken,
  type GatewayAnswer,
  stackConfig,
} from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

/**
 * "Within 1 s on every instance": two gateway processes share one private Redis.
 * Every change is made through instance A's admin API and observed on instance B,
 * which has the grant cached beforehand. The cache TTL is 60 s, so only the
 * invalidation message can make B change its answer in time.
 */
const WITHIN_MS = 1000;

let redis: TestRedis;
let upstream: TestUpstream;
let a: GatewayProcess;
let b: GatewayProcess;

beforeAll(async () => {
  [redis, upstream] = await Promise.all([startRedisServer(), startTestUpstream()]);
  const config = stackConfig({ store: 'redis', cacheTtlMs: 60_000 }, upstream.url, redis.url);
  [a, b] = await Promise.all([startGateway(config), startGateway(config)]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([upstream?.close(), redis?.stop()]);
});

async function onA(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  credential?: string,
) {
  const answer = await admin(a.adminUrl, method, path, body, credential);
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer;
}

async function member(org: string, user: string, role: 'member' | 'admin' = 'member'): Promise<void> {
  await onA('PUT', `/v1/orgs/${org}/members/${user}`, { role });
}

function issues(org: string): string {
  return `/repos/${org}/api/issues`;
}

/** B answers 200 now, and keeps answering it from its cache until told otherwise. */
async function cachedAllowOnB(token: string, path: string): Promise<void> {
  for (let i = 0; i < 2; i++) expect((await call(b.url, 'GET', path, { token })).status).toBe(200);
}

/**
 * Runs `change` on A, then polls B until `refused(answer)` holds; fails unless that
 * happens within WITHIN_MS of A's answer. Returns B's first refusal.
 */
async function observedOnB(
  token: string,
  path: string,
  change: () => Promise<unknown>,
  refused: (answer: GatewayAnswer) => boolean,
): Promise<GatewayAnswer> {
  await change();
  const changedAt = performance.now();
  for (;;) {
    const answer = await call(b.url, 'GET', path, { token });
    const elapsed = performance.now() - changedAt;
    if (refused(answer)) {
      expect(elapsed).toBeLessThan(WITHIN_MS);
      return answer;
    }
    if (elapsed > WITHIN_MS) {
      throw new Error(
        `instance B still answered ${answer.status} ${answer.text} after ${Math.round(elapsed)} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function fineToken(org: string, user: string): Promise<CreatedToken> {
  return createToken(a.adminUrl, {
    user,
    resource_owner: org,
    repositories: ['api'],
    permissions: { issues: 'read' },
  });
}

function problem(answer: GatewayAnswer): { type: string; title: string; detail: string } {
  return answer.json() as { type: string; title: string; detail: string };
}

describe('every change reaches every instance within 1 s (two gateways, one Redis)', () => {
  it('removing a member cuts their fine-grained token off the org', async () => {
    await member('m1', 'alice');
    const t = await fineToken('m1', 'alice');
    await cachedAllowOnB(t.token, issues('m1'));
    const refused = await observedOnB(
      t.token,
      issues('m1'),
      () => onA('DELETE', '/v1/orgs/m1/members/alice'),
      (r) => r.status === 403,
    );
    expect(problem(refused).detail).toMatch(/alice is not a member of organization m1/);
  });

  it('removing a member cuts their classic token off the org, not off their own account', async () => {
    await member('m2', 'bob');
    const t = await createToken(a.adminUrl, { kind: 'classic', user: 'bob', scopes: ['read'] });
    await cachedAllowOnB(t.token, issues('m2'));
    await cachedAllowOnB(t.token, issues('bob'));
    // Out of the org, the org is out of the classic token's reach: hidden, as if absent.
    await observedOnB(
      t.token,
      issues('m2'),
      () => onA('DELETE', '/v1/orgs/m2/members/bob'),
      (r) => r.status === 404,
    );
    expect((await call(b.url, 'GET', issues('bob'), { token: t.token })).status).toBe(200);
  });

  it('blocking classic tokens refuses them with a 403 naming the policy', async () => {
    await member('m3', 'carl');
    const t = await createToken(a.adminUrl, { kind: 'classic', user: 'carl', scopes: ['read'] });
    await cachedAllowOnB(t.token, issues('m3'));
    const refused = await observedOnB(
      t.token,
      issues('m3'),
      () => onA('PUT', '/v1/orgs/m3/policy', { classic_tokens: 'blocked' }),
      (r) => r.status === 403,
    );
    expect(problem(refused)).toMatchObject({
      type: expect.stringContaining('classic_blocked'),
      title: 'Refused by organization policy',
      detail: expect.stringMatching(/organization m3 blocks classic tokens/),
    });
  });

  it('blocking fine-grained tokens refuses them with a 403 naming the policy', async () => {
    await member('m4', 'dana');
    const t = await fineToken('m4', 'dana');
    await cachedAllowOnB(t.token, issues('m4'));
    const refused = await observedOnB(
      t.token,
      issues('m4'),
      () => onA('PUT', '/v1/orgs/m4/policy', { fine_grained_tokens: 'blocked' }),
      (r) => r.status === 403,
    );
    expect(problem(refused)).toMatchObject({
      type: expect.stringContaining('fine_grained_blocked'),
      detail: expect.stringMatching(/organization m4 blocks fine-grained tokens/),
    });
  });

  it('tightening max_lifetime_days refuses longer-lived tokens, saying why', async () => {
    await member('m5', 'ed');
    const t = await fineToken('m5', 'ed');
    await cachedAllowOnB(t.token, issues('m5'));
    const refused = await observedOnB(
      t.token,
      issues('m5'),
      () => onA('PUT', '/v1/orgs/m5/policy', { max_lifetime_days: 7 }),
      (r) => r.status === 403,
    );
    expect(problem(refused)).toMatchObject({
      type: expect.stringContaining('lifetime_exceeds_policy'),
      detail: expect.stringMatching(/lives 30 days; organization m5 allows at most 7 days/),
    });
  });

  it('a site admin revocation: 401 revoked', async () => {
    await member('m6', 'fay');
    const t = await fineToken('m6', 'fay');
    await cachedAllowOnB(t.token, issues('m6'));
    const refused = await observedOnB(
      t.token,
      issues('m6'),
      () => onA('DELETE', `/v1/tokens/${t.id}`, { reason: 'leaked in a CI log' }),
      (r) => r.status === 401,
    );
    expect(problem(refused).detail).toMatch(/revoked.*leaked in a CI log/);
  });

  it('an org admin cutting a token off, with their own token: 401 revoked', async () => {
    await member('m7', 'gus');
    await member('m7', 'olga', 'admin');
    const olga = await createToken(a.adminUrl, {
      user: 'olga',
      resource_owner: 'm7',
      repositories: 'all',
      permissions: { organization_tokens: 'write' },
    });
    const t = await fineToken('m7', 'gus');
    await cachedAllowOnB(t.token, issues('m7'));
    const refused = await observedOnB(
      t.token,
      issues('m7'),
      () => onA('DELETE', `/v1/orgs/m7/tokens/${t.id}`, undefined, olga.token),
      (r) => r.status === 401,
    );
    expect(problem(refused).detail).toMatch(/revoked by organization m7/);
  });

  it('regenerating kills the old secret everywhere; the new one works everywhere', async () => {
    await member('m8', 'hal');
    const t = await fineToken('m8', 'hal');
    await cachedAllowOnB(t.token, issues('m8'));
    let renewed: CreatedToken | undefined;
    await observedOnB(
      t.token,
      issues('m8'),
      async () => {
        renewed = (await onA('POST', `/v1/tokens/${t.id}/regenerate`, { expires_in_days: 10 }))
          .body as unknown as CreatedToken;
      },
      (r) => r.status === 401,
    );
    const fresh = await call(b.url, 'GET', issues('m8'), { token: renewed?.token ?? '' });
    expect(fresh.status).toBe(200);
    expect(fresh.headers['x-patgate-token-expiration']).toBe(renewed?.expires_at);
  });

  it('approving a pending token lets it through; denying one says denied, with the reason', async () => {
    await member('m9', 'ivy');
    await member('m9', 'jon');
    await onA('PUT', '/v1/orgs/m9/policy', { require_approval: true });
    const approved = await fineToken('m9', 'ivy');
    const denied = await fineToken('m9', 'jon');
    expect([approved.status, denied.status]).toEqual(['pending', 'pending']);
    for (const t of [approved, denied]) {
      const pending = await call(b.url, 'GET', issues('m9'), { token: t.token });
      expect(pending.status).toBe(403);
      expect(problem(pending)).toMatchObject({ title: 'Token pending approval' });
    }

    await observedOnB(
      approved.token,
      issues('m9'),
      () => onA('POST', `/v1/orgs/m9/token-requests/${approved.id}/approve`, {}),
      (r) => r.status === 200,
    );
    const refused = await observedOnB(
      denied.token,
      issues('m9'),
      () => onA('POST', `/v1/orgs/m9/token-requests/${denied.id}/deny`, { reason: 'use the shared bot' }),
      (r) => r.status === 403 && problem(r).title !== 'Token pending approval',
    );
    expect(problem(refused)).toMatchObject({
      title: 'Token denied by the organization',
      detail: expect.stringMatching(/denied by organization m9: use the shared bot/),
    });
  });

  it('an org admin demoted to member loses the admin API on every instance at once', async () => {
    await member('m10', 'kim', 'admin');
    const kim = await createToken(a.adminUrl, {
      user: 'kim',
      resource_owner: 'm10',
      repositories: 'all',
      permissions: { organization_tokens: 'read' },
    });
    expect((await admin(b.adminUrl, 'GET', '/v1/orgs/m10/policy', undefined, kim.token)).status).toBe(200);
    await member('m10', 'kim', 'member');
    expect((await admin(b.adminUrl, 'GET', '/v1/orgs/m10/policy', undefined, kim.token)).status).toBe(403);
  });
});
