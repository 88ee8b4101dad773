import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../../src/tokens/format.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { type RedisMonitor, startRedisMonitor } from '../helpers/redis-monitor.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, eventually, type GatewayAnswer, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// stackConfig sets store.command_timeout_ms to this.
const COMMAND_TIMEOUT_MS = 300;
// A 503 must come about when the command times out, not when Redis returns; the
// margin is for a 2-core machine running other suites.
const FAIL_FAST_BOUND_MS = COMMAND_TIMEOUT_MS + 2700;
const CONCURRENCY = 100;
const PATH = '/repos/acme/api/contents/readme.md';

let redis: TestRedis;
let upstream: TestUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startTestUpstream();
  // Negative entries long enough to outlast the flood below.
  const config = stackConfig({ store: 'redis', cacheTtlMs: 60_000 }, upstream.url, redis.url).replace(
    'negative_ttl_ms: 500',
    'negative_ttl_ms: 30000',
  );
  gw = await startGateway(config, { env: { PATGATE_LOG_LEVEL: 'info' } });
});

afterEach(() => {
  // A failed fault test must not leave the server stopped for the next one.
  if (!redis.external) {
    try {
      redis.resume();
    } catch {
      // Killed and not restarted: the test that killed it restarts it.
    }
  }
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await redis?.stop();
});

type Kind = 'cached valid' | 'uncached valid' | 'cached revoked' | 'uncached revoked' | 'unknown';

interface Probe {
  readonly kind: Kind;
  readonly token: string;
}

/** 100 tokens in five kinds, 20 each; the "cached" ones are in the gateway's cache. */
async function prepareProbes(): Promise<Probe[]> {
  const probes: Probe[] = [];
  const make = async (): Promise<{ id: string; token: string }> =>
    createToken(gw.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
  for (let i = 0; i < CONCURRENCY / 5; i++) {
    const cachedValid = await make();
    expect((await call(gw.url, 'GET', PATH, { token: cachedValid.token })).status).toBe(200);
    probes.push({ kind: 'cached valid', token: cachedValid.token });

    probes.push({ kind: 'uncached valid', token: (await make()).token });

    const cachedRevoked = await make();
    expect((await call(gw.url, 'GET', PATH, { token: cachedRevoked.token })).status).toBe(200);
    await admin(gw.adminUrl, 'DELETE', `/v1/tokens/${cachedRevoked.id}`);
    // Reloads the entry as "revoked" after the eviction.
    await eventually(
      async () => (await call(gw.url, 'GET', PATH, { token: cachedRevoked.token })).status === 401,
      2000,
      'the revocation to reach the cache',
    );
    probes.push({ kind: 'cached revoked', token: cachedRevoked.token });

    const uncachedRevoked = await make();
    await admin(gw.adminUrl, 'DELETE', `/v1/tokens/${uncachedRevoked.id}`);
    probes.push({ kind: 'uncached revoked', token: uncachedRevoked.token });

    probes.push({ kind: 'unknown', token: generateToken('fine_grained') });
  }
  return probes;
}

interface Outcome {
  readonly kind: Kind;
  readonly answer: GatewayAnswer;
  readonly ms: number;
}

async function fireAll(probes: readonly Probe[]): Promise<Outcome[]> {
  return Promise.all(
    probes.map(async ({ kind, token }) => {
      const started = performance.now();
      const answer = await call(gw.url, 'GET', PATH, { token });
      return { kind, answer, ms: performance.now() - started };
    }),
  );
}

/** The rule while Redis is away, for every kind. */
function expectFailClosed(outcomes: readonly Outcome[]): void {
  for (const { kind, answer } of outcomes) {
    switch (kind) {
      case 'cached valid':
        expect(answer.status, `${kind}: ${answer.text}`).toBe(200);
        break;
      case 'cached revoked':
        expect(answer.status, `${kind}: ${answer.text}`).toBe(401);
        break;
      case 'uncached valid':
      case 'uncached revoked':
      case 'unknown':
        expect(answer.status, `${kind}: ${answer.text}`).toBe(503);
        expect(answer.headers['retry-after']).toBe('1');
        expect(answer.headers['content-type']).toBe('application/problem+json');
        break;
    }
  }
}

async function readyz(): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${gw.adminUrl}/readyz`);
  await res.text();
  return { status: res.status, ms: performance.now() - started };
}

describe.skipIf(Boolean(process.env.PATGATE_TEST_REDIS_URL))(
  'Redis faults under 100 concurrent requests',
  () => {
    it('hung Redis (SIGSTOP): 503 within the command timeout, cached grants serve, nothing wrongly allowed', async () => {
      const probes = await prepareProbes();
      expect((await readyz()).status).toBe(200);
      redis.pause();
      let outcomes: Outcome[];
      let ready: { status: number; ms: number };
      try {
        outcomes = await fireAll(probes);
        ready = await readyz();
      } finally {
        redis.resume();
      }
      expectFailClosed(outcomes);
      const failed = outcomes.filter((o) => o.answer.status === 503).map((o) => o.ms);
      expect(failed).toHaveLength(60);
      for (const ms of failed) expect(ms).toBeLessThan(FAIL_FAST_BOUND_MS);
      const served = outcomes.filter((o) => o.kind === 'cached valid').map((o) => o.ms);
      console.log(`hung Redis, 503 answers: ${summary(failed)}; cached 200 answers: ${summary(served)}`);
      expect(ready.status).toBe(503);
      expect(ready.ms).toBeLessThan(FAIL_FAST_BOUND_MS);

      // Back without a gateway restart.
      await eventually(async () => (await readyz()).status === 200, 10_000, '/readyz to recover');
      const after = await fireAll(probes);
      for (const { kind, answer } of after) {
        expect(answer.status, kind).toBe(kind.endsWith('valid') ? 200 : 401);
      }
    }, 60_000);

    it('dead Redis (SIGKILL, restart): 503 at once, readiness follows, the cache resynchronises', async () => {
      const probes = await prepareProbes();
      const fallbacksBefore = await metricValue('patgate_cache_lookups_total{result="fallback"}');
      await redis.kill();
      const outcomes = await fireAll(probes);
      const ready = await readyz();
      expectFailClosed(outcomes);
      // With the subscription gone, cached entries were not trusted outright: each
      // request asked the store first and fell back on its entry when that failed.
      expect(await metricValue('patgate_cache_lookups_total{result="fallback"}')).toBe(fallbacksBefore + 40);
      const failed = outcomes.filter((o) => o.answer.status === 503).map((o) => o.ms);
      for (const ms of failed) expect(ms).toBeLessThan(FAIL_FAST_BOUND_MS);
      console.log(`dead Redis, 503 answers: ${summary(failed)}`);
      expect(ready.status).toBe(503);

      const resyncsBefore = await metricValue('patgate_invalidations_total{kind="all"}');
      await redis.restart();
      await eventually(async () => (await readyz()).status === 200, 15_000, '/readyz to recover');
      // The resubscribed instance dropped its cache rather than trust what it may have
      // missed: the (unpersisted) data is gone, so a grant cached before is now unknown.
      await eventually(
        async () => (await metricValue('patgate_invalidations_total{kind="all"}')) > resyncsBefore,
        10_000,
        'the resubscription to drop the cache',
      );
      const cached = probes.find((p) => p.kind === 'cached valid');
      expect((await call(gw.url, 'GET', PATH, { token: cached?.token ?? '' })).status).toBe(401);
      // And the restarted store works end to end.
      const fresh = await createToken(gw.adminUrl, {
        user: 'alice',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { contents: 'read' },
      });
      expect((await call(gw.url, 'GET', PATH, { token: fresh.token })).status).toBe(200);
    }, 60_000);

    it('a cached grant serves through an outage only until cache.ttl_ms after it was loaded', async () => {
      const ttlMs = 1500;
      const short = await startGateway(
        stackConfig({ store: 'redis', cacheTtlMs: ttlMs, keyPrefix: 'pgttl:' }, upstream.url, redis.url),
        { env: { PATGATE_LOG_LEVEL: 'info' } },
      );
      try {
        const token = await createToken(short.adminUrl, {
          user: 'alice',
          resource_owner: 'acme',
          repositories: 'all',
          permissions: { contents: 'read' },
        });
        const loadStarted = performance.now();
        expect((await call(short.url, 'GET', PATH, { token: token.token })).status).toBe(200);
        const loaded = performance.now();
        redis.pause();
        let refusedAt = 0;
        try {
          while (refusedAt === 0) {
            const answer = await call(short.url, 'GET', PATH, { token: token.token });
            if (answer.status === 503) refusedAt = performance.now();
            else expect(answer.status).toBe(200);
            if (performance.now() - loaded > ttlMs + 5000) throw new Error('served past the ttl');
          }
          // Once expired it stays refused: no stale serve while the store is away.
          expect((await call(short.url, 'GET', PATH, { token: token.token })).status).toBe(503);
        } finally {
          redis.resume();
        }
        expect(refusedAt - loadStarted).toBeGreaterThanOrEqual(ttlMs);
        expect(refusedAt - loaded).toBeLessThan(ttlMs + FAIL_FAST_BOUND_MS + 1000);
      } finally {
        await short.stop();
      }
    }, 30_000);
  },
);

describe('stampedes and floods', () => {
  let monitor: RedisMonitor;
  let marker: Redis;
  const seen: string[][] = [];
  const waiting = new Map<string, () => void>();

  beforeAll(async () => {
    marker = new Redis(redis.url);
    monitor = await startRedisMonitor(redis.url);
    monitor.onCommand((args, source) => {
      // Commands a script runs itself are part of its one round trip.
      if (source !== 'lua') seen.push(args);
      if (args[0]?.toLowerCase() === 'echo' && args[1] !== undefined) waiting.get(args[1])?.();
    });
  });

  afterAll(async () => {
    monitor?.close();
    await marker?.quit();
  });

  /** The token lookups (keys `tok:{hash}` of an EVALSHA) Redis received while `work` ran, by token hash. */
  async function lookupsDuring(work: () => Promise<unknown>): Promise<Map<string, number>> {
    const mark = async (): Promise<number> => {
      const name = `mark-${randomBytes(6).toString('hex')}`;
      const arrived = new Promise<void>((resolve) => waiting.set(name, resolve));
      await marker.echo(name);
      await arrived;
      waiting.delete(name);
      return seen.length;
    };
    const from = await mark();
    await work();
    const to = await mark();
    const counts = new Map<string, number>();
    for (const args of seen.slice(from, to)) {
      if (args[0]?.toLowerCase() !== 'evalsha') continue;
      // EVALSHA sha numkeys key...: one script call looks up a batch of tokens.
      const keys = args.slice(3, 3 + Number(args[2]));
      for (const key of keys) {
        if (!key.startsWith('pgtest:tok:')) continue;
        const hash = key.slice('pgtest:tok:'.length);
        counts.set(hash, (counts.get(hash) ?? 0) + 1);
      }
    }
    return counts;
  }

  it('100 concurrent misses for one token share one store lookup', async () => {
    const token = await createToken(gw.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    const unknown = generateToken('fine_grained');
    let statuses: number[] = [];
    const lookups = await lookupsDuring(async () => {
      const answers = await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, i) =>
          call(gw.url, 'GET', PATH, { token: i % 2 === 0 ? token.token : unknown }),
        ),
      );
      statuses = answers.map((a) => a.status);
    });
    expect(statuses.filter((s) => s === 200)).toHaveLength(CONCURRENCY / 2);
    expect(statuses.filter((s) => s === 401)).toHaveLength(CONCURRENCY / 2);
    expect(lookups.get(hashToken(token.token))).toBe(1);
    expect(lookups.get(hashToken(unknown))).toBe(1);
  });

  it('a flood of random well-formed tokens costs one read per distinct token per negative_ttl_ms', async () => {
    const distinct = Array.from({ length: 200 }, () => generateToken('fine_grained'));
    const repeats = 10;
    const queue = distinct.flatMap((t) => Array.from({ length: repeats }, () => t));
    let refused = 0;
    const started = performance.now();
    const lookups = await lookupsDuring(async () => {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
            if ((await call(gw.url, 'GET', PATH, { token: next })).status === 401) refused++;
          }
        }),
      );
    });
    const elapsed = performance.now() - started;
    const reads = [...lookups.values()].reduce((sum, n) => sum + n, 0);
    console.log(
      `flood: ${distinct.length * repeats} requests with ${distinct.length} distinct random tokens in ${Math.round(elapsed)} ms -> ${reads} Redis lookups`,
    );
    expect(refused).toBe(distinct.length * repeats);
    // negative_ttl_ms is 30 s here, far longer than the flood: one read each, however often repeated.
    expect(elapsed).toBeLessThan(30_000);
    expect(reads).toBe(distinct.length);
    for (const token of distinct) expect(lookups.get(hashToken(token))).toBe(1);
  }, 60_000);
});

async function metricValue(series: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

function summary(ms: readonly number[]): string {
  const sorted = [...ms].sort((x, y) => x - y);
  const at = (q: number): string =>
    (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN).toFixed(0);
  return `n=${sorted.length} p50=${at(0.5)} ms p99=${at(0.99)} ms max=${at(1)} ms`;
}
