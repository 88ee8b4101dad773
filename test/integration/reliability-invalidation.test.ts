import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/tokens/format.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, type CreatedToken, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// Far longer than any test here: a refusal on B can only come from an invalidation.
const LONG_TTL_MS = 60_000;
const REVOCATIONS = 50;
const OTHER_CHANGES = 10;
const PROPAGATION_BOUND_MS = 1000;
const PATH = '/repos/acme/api/contents/readme.md';

let redis: TestRedis;
let upstream: TestUpstream;
let a: GatewayProcess;
let b: GatewayProcess;
const lags: Record<string, number[]> = {};

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startTestUpstream();
  const config = stackConfig({ store: 'redis', cacheTtlMs: LONG_TTL_MS }, upstream.url, redis.url);
  // Info level: the polling below would otherwise log a debug line per request.
  [a, b] = await Promise.all([
    startGateway(config, { env: { PATGATE_LOG_LEVEL: 'info' } }),
    startGateway(config, { env: { PATGATE_LOG_LEVEL: 'info' } }),
  ]);
});

afterAll(async () => {
  for (const [change, ms] of Object.entries(lags)) {
    if (ms.length > 0) console.log(`propagation A -> B, ${change}: ${summary(ms)}`);
  }
  await Promise.all([a?.stop(), b?.stop()]);
  await upstream?.close();
  await redis?.stop();
});

describe('invalidation across two instances sharing one Redis', () => {
  it(`a revocation on A is refused by B within ${PROPAGATION_BOUND_MS} ms (${REVOCATIONS} revocations)`, async () => {
    for (let i = 0; i < REVOCATIONS; i++) {
      const token = await createToken(a.adminUrl, reader('acme'));
      await warm(b, token, PATH);
      const ms = await timeUntilRefused(
        () => admin(a.adminUrl, 'DELETE', `/v1/tokens/${token.id}`),
        b,
        token.token,
        PATH,
        'token_revoked',
      );
      record('revoke', ms);
    }
  }, 120_000);

  it('regenerate on A: the old secret is refused by B at once, the new one works there', async () => {
    for (let i = 0; i < OTHER_CHANGES; i++) {
      const token = await createToken(a.adminUrl, reader('acme'));
      await warm(b, token, PATH);
      let fresh = '';
      const ms = await timeUntilRefused(
        async () => {
          const answer = await admin(a.adminUrl, 'POST', `/v1/tokens/${token.id}/regenerate`, {
            expires_in_days: 30,
          });
          fresh = String(answer.body.token);
          return answer;
        },
        b,
        token.token,
        PATH,
        'token_unknown',
      );
      record('regenerate', ms);
      expect((await call(b.url, 'GET', PATH, { token: fresh })).status).toBe(200);
    }
  }, 60_000);

  it('membership removal on A cuts the user off on B at once', async () => {
    for (let i = 0; i < OTHER_CHANGES; i++) {
      const org = `member-org-${i}`;
      expect(
        (await admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/members/alice`, { role: 'member' })).status,
      ).toBe(200);
      const token = await createToken(a.adminUrl, reader(org));
      const path = `/repos/${org}/api/contents/readme.md`;
      await warm(b, token, path);
      const ms = await timeUntilRefused(
        () => admin(a.adminUrl, 'DELETE', `/v1/orgs/${org}/members/alice`),
        b,
        token.token,
        path,
        'not_member',
      );
      record('membership removal', ms);
    }
  }, 60_000);

  it('a policy change on A (fine-grained tokens blocked) is enforced by B at once', async () => {
    for (let i = 0; i < OTHER_CHANGES; i++) {
      const org = `policy-org-${i}`;
      await admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/members/alice`, { role: 'member' });
      const token = await createToken(a.adminUrl, reader(org));
      const path = `/repos/${org}/api/contents/readme.md`;
      await warm(b, token, path);
      const ms = await timeUntilRefused(
        () => admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/policy`, { fine_grained_tokens: 'blocked' }),
        b,
        token.token,
        path,
        'fine_grained_blocked',
      );
      record('policy', ms);
    }
  }, 60_000);

  it('a denied token request on A moves B from "pending" to "denied" at once', async () => {
    for (let i = 0; i < OTHER_CHANGES; i++) {
      const org = `approval-org-${i}`;
      await admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/members/alice`, { role: 'member' });
      await admin(a.adminUrl, 'PUT', `/v1/orgs/${org}/policy`, { require_approval: true });
      const token = await createToken(a.adminUrl, reader(org));
      expect(token.status).toBe('pending');
      const path = `/repos/${org}/api/contents/readme.md`;
      // Cache the pending snapshot on B: refused, but cached like any other.
      const pending = await call(b.url, 'GET', path, { token: token.token });
      expect(problemCode(pending)).toBe('token_pending');
      const ms = await timeUntilRefused(
        () => admin(a.adminUrl, 'POST', `/v1/orgs/${org}/token-requests/${token.id}/deny`, { reason: 'no' }),
        b,
        token.token,
        path,
        'token_denied',
      );
      record('deny', ms);
    }
  }, 60_000);

  it('B measures the lag of every invalidation it receives (patgate_invalidation_lag_seconds)', async () => {
    const text = await (await fetch(`${b.adminUrl}/metrics`)).text();
    const count = Number(/^patgate_invalidation_lag_seconds_count (\d+)/m.exec(text)?.[1]);
    // Every change above published one message; B heard each of them.
    expect(count).toBeGreaterThanOrEqual(REVOCATIONS + 4 * OTHER_CHANGES);
    const sum = Number(/^patgate_invalidation_lag_seconds_sum (\S+)/m.exec(text)?.[1]);
    expect(sum / count).toBeLessThan(PROPAGATION_BOUND_MS / 1000);
  });
});

describe('a lost invalidation message', () => {
  const SHORT_TTL_MS = 1500;
  let c: GatewayProcess;
  let client: Redis;

  beforeAll(async () => {
    const config = stackConfig(
      { store: 'redis', cacheTtlMs: SHORT_TTL_MS, keyPrefix: 'pglost:' },
      upstream.url,
      redis.url,
    );
    c = await startGateway(config, { env: { PATGATE_LOG_LEVEL: 'info' } });
    client = new Redis(redis.url);
  });

  afterAll(async () => {
    await c?.stop();
    await client?.quit();
  });

  it('is bounded by cache.ttl_ms: the revocation takes effect once the entry expires, not before', async () => {
    const token = await createToken(c.adminUrl, reader('acme'));
    const key = `pglost:tok:${hashToken(token.token)}`;
    const loadStarted = performance.now();
    expect((await call(c.url, 'GET', PATH, { token: token.token })).status).toBe(200);
    const loaded = performance.now();

    // Revoke behind the gateway's back: the record changes, no message is published.
    const stored = JSON.parse((await client.get(key)) ?? 'null') as Record<string, unknown>;
    await client.set(key, JSON.stringify({ ...stored, status: 'revoked' }), 'KEEPTTL');

    let refusedAt = 0;
    let lastAllowedAt = 0;
    while (refusedAt === 0) {
      const answer = await call(c.url, 'GET', PATH, { token: token.token });
      const at = performance.now();
      if (answer.status === 200) lastAllowedAt = at;
      else if (problemCode(answer) === 'token_revoked') refusedAt = at;
      else throw new Error(`unexpected answer ${answer.status} ${answer.text}`);
      if (at - loaded > SHORT_TTL_MS + 5000) throw new Error('the stale entry outlived its ttl');
    }
    // Served from the cache until its ttl ran out (the entry was stored after loadStarted)...
    expect(refusedAt - loadStarted).toBeGreaterThanOrEqual(SHORT_TTL_MS);
    expect(lastAllowedAt).toBeGreaterThan(loaded);
    // ...and refused soon after: the ttl is the bound, with room for a loaded machine.
    expect(refusedAt - loaded).toBeLessThan(SHORT_TTL_MS + 1500);
    console.log(
      `lost message: refused ${Math.round(refusedAt - loaded)} ms after the load (cache.ttl_ms ${SHORT_TTL_MS})`,
    );
  });
});

function reader(owner: string): Record<string, unknown> {
  return { user: 'alice', resource_owner: owner, repositories: 'all', permissions: { contents: 'read' } };
}

/** Loads the token's grants into `gateway`'s cache (and checks they serve). */
async function warm(gateway: GatewayProcess, token: CreatedToken, path: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const answer = await call(gateway.url, 'GET', path, { token: token.token });
    expect(answer.status, answer.text).toBe(200);
  }
}

/**
 * Starts `change` (an admin call on another instance) and polls `gateway` back to back
 * until it refuses with `code`; returns the ms from the start of the change to that refusal.
 */
async function timeUntilRefused(
  change: () => Promise<{ status: number; body?: unknown }>,
  gateway: GatewayProcess,
  token: string,
  path: string,
  code: string,
): Promise<number> {
  const started = performance.now();
  let failed: { status: number; body?: unknown } | null = null;
  const changed = change().then((answer) => {
    if (answer.status >= 300) failed = answer;
    return answer;
  });
  for (;;) {
    const answer = await call(gateway.url, 'GET', path, { token });
    const elapsed = performance.now() - started;
    if (failed !== null) throw new Error(`the admin call failed: ${JSON.stringify(failed)}`);
    if (problemCode(answer) === code) {
      expect((await changed).status).toBeLessThan(300);
      expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
      return elapsed;
    }
    if (elapsed > PROPAGATION_BOUND_MS * 5) {
      throw new Error(`no "${code}" within ${Math.round(elapsed)} ms; last: ${answer.status} ${answer.text}`);
    }
  }
}

function problemCode(answer: { status: number; text: string }): string | null {
  if (answer.status < 400) return null;
  const type = (JSON.parse(answer.text) as { type?: string }).type ?? '';
  return type.slice(type.lastIndexOf('/') + 1);
}

function record(change: string, ms: number): void {
  let list = lags[change];
  if (list === undefined) {
    list = [];
    lags[change] = list;
  }
  list.push(ms);
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

function summary(ms: readonly number[]): string {
  const sorted = [...ms].sort((x, y) => x - y);
  const f = (v: number): string => v.toFixed(1);
  return `n=${sorted.length} p50=${f(percentile(sorted, 0.5))} ms p99=${f(percentile(sorted, 0.99))} ms max=${f(sorted[sorted.length - 1] ?? 0)} ms`;
}
