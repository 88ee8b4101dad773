import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, eventually, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

/**
 * Rate limits and allow lists across two gateway processes sharing one private Redis
 * (docs/rate-limits.md). Every budget is a fresh user's, so tests do not share counts.
 */

let redis: TestRedis;
let upstream: TestUpstream;
let a: GatewayProcess;
let b: GatewayProcess;

const RATE_LIMITS = `
rate_limits:
  default: { limit: 40, window: "1h", per: user }
  costs:
    - { route: "POST /echo", points: 4 }
    - { methods: [POST, PUT, PATCH, DELETE], points: 5 }
  concurrency: { per: token, max: 50 }
  reconcile_interval_ms: 100
`;

beforeAll(async () => {
  [redis, upstream] = await Promise.all([startRedisServer(), startTestUpstream()]);
  const config =
    stackConfig({ store: 'redis', cacheTtlMs: 60_000, commandTimeoutMs: 2_000 }, upstream.url, redis.url) +
    RATE_LIMITS;
  [a, b] = await Promise.all([startGateway(config), startGateway(config)]);
  // Both instances count through Redis before anything is measured.
  for (const gateway of [a, b]) {
    await eventually(
      async () => (await admin(gateway.adminUrl, 'GET', '/readyz')).body.rate_limits === 'shared',
      5_000,
      'rate limits shared through Redis',
    );
  }
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([upstream?.close(), redis?.stop()]);
});

async function tokenFor(user: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await createToken(a.adminUrl, {
    user,
    resource_owner: user,
    repositories: 'all',
    permissions: { contents: 'write', issues: 'write' },
    ...extra,
  });
  return created.token;
}

/**
 * Spends one more point (a GET costs 1) of a budget shared by the two instances, on `url`.
 * Near the end of a budget an instance may refuse while the other still holds an unspent
 * reservation, which it gives back after an idle reconcile (docs/rate-limits.md, "Overshoot"):
 * a refusal is accepted only when no more than that reservation is left, it must count the
 * reservation as used, and asking again must get the point.
 */
async function spendShared(
  url: string,
  path: string,
  token: string,
  spent: number,
  limit: number,
): Promise<void> {
  const answer = await call(url, 'GET', path, { token });
  if (answer.status !== 429) {
    expect(answer.status, `point ${spent + 1} of ${limit}`).toBe(200);
    return;
  }
  const heldByTheOther = Math.max(1, Math.ceil(limit / 100));
  expect(limit - spent, `refused with ${spent} of ${limit} points spent`).toBeLessThanOrEqual(heldByTheOther);
  expect(answer.headers['x-ratelimit-used']).toBe(String(limit));
  let status = 429;
  await eventually(
    async () => {
      status = (await call(url, 'GET', path, { token })).status;
      return status !== 429;
    },
    2_000,
    'the other instance to give back its unspent reservation',
  );
  expect(status, `point ${spent + 1} of ${limit}, asked again`).toBe(200);
}

const READ = '/repos/o/r/issues';
function readPath(owner: string): string {
  return READ.replace('/o/', `/${owner}/`);
}

describe('a shared budget', () => {
  it('is spent across both instances, then answered 429 with the budget in headers', async () => {
    const token = await tokenFor('rl-shared');
    const path = readPath('rl-shared');
    const first = await call(a.url, 'GET', path, { token });
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('40');
    expect(first.headers['x-ratelimit-used']).toBe('1');
    expect(first.headers['x-ratelimit-remaining']).toBe('39');
    expect(first.headers['x-ratelimit-resource']).toBe('core');
    const reset = Number(first.headers['x-ratelimit-reset']);
    expect(reset).toBe(Math.ceil(Date.now() / 3_600_000) * 3_600);

    // 39 more points: alternately on B and A.
    const forwardedBefore = upstream.requests.length;
    for (let spent = 1; spent < 40; spent++) {
      await spendShared(spent % 2 === 1 ? b.url : a.url, path, token, spent, 40);
    }
    const seenBefore = upstream.requests.length;
    expect(seenBefore - forwardedBefore).toBe(39);
    for (const gateway of [a, b]) {
      const refused = await call(gateway.url, 'GET', path, { token });
      expect(refused.status).toBe(429);
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      expect(refused.headers['x-ratelimit-used']).toBe('40');
      expect(refused.headers['x-ratelimit-limit']).toBe('40');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3_600);
      const body = refused.json();
      expect(body.type).toBe('https://patgate.dev/problems/rate_limited');
      expect(String(body.detail)).toContain('40 points per 1h');
    }
    expect(upstream.requests.length).toBe(seenBefore);
  });

  it('charges costs by route, then by method', async () => {
    const token = await tokenFor('rl-costs');
    const echo = await call(b.url, 'POST', '/echo', { token, body: 'x' });
    expect(echo.status).toBe(200);
    expect(echo.headers['x-ratelimit-used']).toBe('4');
    const issue = await call(b.url, 'POST', '/repos/rl-costs/r/issues', { token, body: 'x' });
    expect(issue.headers['x-ratelimit-used']).toBe('9');
  });

  it("GET /_patgate/rate_limit shows the budget in GitHub's shape, free of charge", async () => {
    const token = await tokenFor('rl-status');
    await call(a.url, 'GET', readPath('rl-status'), { token });
    type Status = { resources: { core: Record<string, unknown> }; rate: unknown };
    const read = async (): Promise<Status> =>
      (await call(b.url, 'GET', '/_patgate/rate_limit', { token })).json() as Status;
    const first = await call(b.url, 'GET', '/_patgate/rate_limit', { token });
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('40');
    const body = first.json() as Status;
    expect(body.resources.core).toMatchObject({ limit: 40, resource: 'core' });
    expect(body.rate).toEqual(body.resources.core);
    // B learns A's spending within a reconcile; reading the status spends nothing. (An instance
    // counts what another holds reserved as used: at most a hundredth of the limit, or one request.)
    await eventually(
      async () => Number((await read()).resources.core.used) >= 1,
      2_000,
      "B to learn A's spending",
    );
    const seen = (await read()).resources.core;
    expect(Number(seen.used)).toBeLessThanOrEqual(2);
    for (let i = 0; i < 3; i++) expect((await read()).resources.core).toEqual(seen);
    expect(seen.remaining).toBe(40 - Number(seen.used));
  });

  it('refuses the status without a token', async () => {
    expect((await call(a.url, 'GET', '/_patgate/rate_limit')).status).toBe(401);
  });

  it('a token override is its own budget', async () => {
    const token = await tokenFor('rl-override', { rate_limit: { limit: 2, window: '1m' } });
    const path = readPath('rl-override');
    const first = await call(a.url, 'GET', path, { token });
    expect(first.headers['x-ratelimit-limit']).toBe('2');
    await spendShared(b.url, path, token, 1, 2);
    const refused = await call(a.url, 'GET', path, { token });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  });
});

/**
 * After a load has stopped, the points it left are spendable and no more: when the load ends
 * each instance may still hold its unspent reservation (at most a hundredth of the limit, or
 * one request), given back after an idle reconcile, so the load may have got up to that much
 * less than the limit; asked for one at a time afterwards, exactly the rest goes through.
 */
async function expectSpendableToTheLimit(
  path: string,
  token: string,
  allowed: number,
  limit: number,
): Promise<void> {
  const heldPerInstance = Math.max(1, Math.ceil(limit / 100));
  expect(allowed, 'points the load got').toBeGreaterThanOrEqual(limit - 2 * heldPerInstance);
  for (let spent = allowed; spent < limit; spent++) {
    const url = spent % 2 === 0 ? a.url : b.url;
    let status = 429;
    await eventually(
      async () => {
        status = (await call(url, 'GET', path, { token })).status;
        return status !== 429;
      },
      2_000,
      `point ${spent + 1} of ${limit} after the load`,
    ).catch((error: unknown) => {
      // A reconcile that timed out leaves its points counted as spent: say so if one did.
      const said = [...a.output, ...b.output].filter((line) => line.includes('rate limits:'));
      throw new Error(`${(error as Error).message}; the instances said:\n${said.join('\n')}`);
    });
    expect(status).toBe(200);
  }
  // Every point is spent now, so neither instance can hold one.
  for (const gateway of [a, b]) expect((await call(gateway.url, 'GET', path, { token })).status).toBe(429);
}

describe('the overshoot bound', () => {
  it('stays within 10 % of the limit with two instances under concurrent load', async () => {
    const limit = 40; // the config's default; the load is 20 times that
    const token = await tokenFor('rl-overshoot');
    const path = readPath('rl-overshoot');
    const before = upstream.requests.length;
    const statuses = new Map<number, number>();
    // 8 concurrent clients per instance, 50 requests each: 800 requests for 40 points.
    const client = async (url: string): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        const answer = await call(url, 'GET', path, { token });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, i) => client(i % 2 === 0 ? a.url : b.url)));
    const allowed = statuses.get(200) ?? 0;
    const forwarded = upstream.requests.length - before;
    console.log(
      `overshoot: ${allowed} allowed of limit ${limit} (${((allowed / limit - 1) * 100).toFixed(1)} %)`,
    );
    expect(forwarded).toBe(allowed);
    expect(allowed).toBeLessThanOrEqual(Math.floor(limit * 1.1));
    expect((statuses.get(429) ?? 0) + allowed).toBe(800);
    // And the budget was not starved either: every point is spendable.
    await expectSpendableToTheLimit(path, token, allowed, limit);
  }, 60_000);

  it('a larger budget under a heavier load', async () => {
    const token = await tokenFor('rl-overshoot2', { rate_limit: { limit: 1000, window: '1h' } });
    const path = readPath('rl-overshoot2');
    let allowed = 0;
    const client = async (url: string): Promise<void> => {
      for (let i = 0; i < 60; i++) {
        if ((await call(url, 'GET', path, { token })).status === 200) allowed++;
      }
    };
    await Promise.all(Array.from({ length: 40 }, (_, i) => client(i % 2 === 0 ? a.url : b.url)));
    console.log(`overshoot: ${allowed} allowed of limit 1000 (${((allowed / 1000 - 1) * 100).toFixed(1)} %)`);
    expect(allowed).toBeLessThanOrEqual(1100);
    await expectSpendableToTheLimit(path, token, allowed, 1000);
  }, 60_000);
});

describe('the concurrency limit', () => {
  it("refuses a token's 51st request in flight with 429", async () => {
    const token = await tokenFor('rl-concurrent', { rate_limit: { limit: 1000, window: '1h' } });
    const answers = await Promise.all(
      Array.from({ length: 60 }, () => call(a.url, 'GET', '/slow/800', { token })),
    );
    const ok = answers.filter((r) => r.status === 200).length;
    const limited = answers.filter((r) => r.status === 429);
    expect(ok).toBe(50);
    expect(limited).toHaveLength(10);
    expect(limited[0]?.json().type).toBe('https://patgate.dev/problems/concurrency_limited');
    expect(limited[0]?.headers['retry-after']).toBe('1');
    // Once they end, the token may send again.
    expect((await call(a.url, 'GET', '/slow/1', { token })).status).toBe(200);
  });
});

describe('IP allow lists', () => {
  it('refuses a token used from outside its allowed IPs', async () => {
    const outside = await tokenFor('rl-ip-token', { allowed_ips: ['10.0.0.0/8', '2001:db8::/32'] });
    const refused = await call(a.url, 'GET', readPath('rl-ip-token'), { token: outside });
    expect(refused.status).toBe(403);
    expect(refused.json().type).toBe('https://patgate.dev/problems/ip_not_allowed');
    const inside = await tokenFor('rl-ip-token', { allowed_ips: ['127.0.0.1'] });
    expect((await call(b.url, 'GET', readPath('rl-ip-token'), { token: inside })).status).toBe(200);
  });

  it("applies the org's list, and a change reaches the other instance within 1 s", async () => {
    const org = 'rl-ip-org';
    expect((await admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/members/alice`, { role: 'member' })).status).toBe(
      200,
    );
    const created = await createToken(a.adminUrl, {
      user: 'alice',
      resource_owner: org,
      repositories: 'all',
      permissions: { issues: 'read' },
    });
    const path = readPath(org);
    // B has the grant cached, without a list.
    expect((await call(b.url, 'GET', path, { token: created.token })).status).toBe(200);
    const put = await admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/policy`, {
      ip_allow_list: ['::1/128', '10.1.0.0/16'],
    });
    expect(put.status).toBe(200);
    expect(put.body.ip_allow_list).toEqual(['::1/128', '10.1.0.0/16']);
    const changed = performance.now();
    await eventually(
      async () => (await call(b.url, 'GET', path, { token: created.token })).status === 403,
      1_000,
      'B to apply the allow list',
    );
    expect(performance.now() - changed).toBeLessThan(1_000);
    const refused = await call(b.url, 'GET', path, { token: created.token });
    expect(refused.json().type).toBe('https://patgate.dev/problems/ip_not_allowed');
    expect(String(refused.json().detail)).toContain(org);
    await admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/policy`, { ip_allow_list: ['127.0.0.0/8'] });
    await eventually(
      async () => (await call(b.url, 'GET', path, { token: created.token })).status === 200,
      1_000,
      'B to allow 127.0.0.0/8',
    );
  });

  it('refuses a list entry that is no CIDR, naming the field', async () => {
    const answer = await admin(a.adminUrl, 'PUT', '/v1/orgs/rl-ip-bad/policy', {
      ip_allow_list: ['10.0.0.0/33'],
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('ip_allow_list');
  });
});

describe('metrics', () => {
  it('counts refusals by resource', async () => {
    const text = await (await fetch(`${a.adminUrl}/metrics`)).text();
    expect(text).toMatch(/patgate_rate_limited_total\{resource="core"\} [1-9]/);
    expect(text).toMatch(/patgate_rate_limited_total\{resource="concurrency"\} [1-9]/);
    expect(text).toMatch(/patgate_rate_limit_local_only 0/);
    expect(text).toMatch(/patgate_rate_limit_reconcile_lag_seconds \d/);
  });
});
