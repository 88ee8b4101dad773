import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportLimiter } from '../../src/leaks/report-limiter.js';
import { clusterClient } from '../../src/store/redis-cluster-client.js';
import { RedisSessionStore } from '../../src/store/session-redis-store.js';
import type { ConsoleSession } from '../../src/store/session-store.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { admin, call, createToken, eventually, FEATURES, ROUTES } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ofType, Receiver, webhooksConfig } from './events-receiver.js';

/**
 * What two instances on one Redis Cluster share besides grants (docs/operations.md#redis-cluster):
 * webhook deliveries (one consumer group, leased claims), rate-limit budgets, console
 * sessions and leak-report counters. One cluster for the whole file: it takes seconds to start.
 */

const PREFIX = 'pgshared:';
// An attempt may hang this long before it is retried: far past the time the other instance
// needs to claim a delivery, so "both in flight" below can only mean two instances.
const WEBHOOK_TIMEOUT_MS = 2_500;
const RATE_LIMITS = `
rate_limits:
  default: { limit: 30, window: "1h", per: user }
  reconcile_interval_ms: 100
`;

let cluster: TestCluster;
let upstream: TestUpstream;
let a: GatewayProcess;
let b: GatewayProcess;

function config(upstreamUrl: string): string {
  return `listen: "127.0.0.1:0"
upstream:
  url: "${upstreamUrl}"
  timeout_ms: 2000
  connect_timeout_ms: 1000
admin:
  listen: "127.0.0.1:0"
store:
  cluster:
    nodes: [${cluster.nodes.map((n) => `"${n}"`).join(', ')}]
  key_prefix: "${PREFIX}"
  command_timeout_ms: 1000
cache:
  ttl_ms: 60000
  negative_ttl_ms: 500
hide_forbidden: true
shutdown_grace_ms: 3000
${webhooksConfig({ concurrency: 1, timeout_ms: WEBHOOK_TIMEOUT_MS })}${RATE_LIMITS}${FEATURES}${ROUTES}`;
}

beforeAll(async () => {
  [cluster, upstream] = await Promise.all([startRedisCluster(), startTestUpstream()]);
  const text = config(upstream.url);
  [a, b] = await Promise.all([startGateway(text), startGateway(text)]);
  for (const gateway of [a, b]) {
    await eventually(
      async () => (await admin(gateway.adminUrl, 'GET', '/readyz')).body.rate_limits === 'shared',
      10_000,
      'rate limits shared through the cluster',
    );
  }
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await upstream?.close();
  await cluster?.stop();
});

/** The deliveries one instance finished, by delivery id, from its log lines. */
function finishedBy(gateway: GatewayProcess): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const line of gateway.output) {
    if (!line.includes('"webhook attempt finished"')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    const id = String(entry.delivery);
    out.set(id, [...(out.get(id) ?? []), entry]);
  }
  return out;
}

async function deliveryLog(id: string): Promise<Record<string, unknown>[]> {
  const answer = await admin(b.adminUrl, 'GET', `/v1/webhooks/${id}/deliveries`);
  expect(answer.status).toBe(200);
  return answer.body.deliveries as Record<string, unknown>[];
}

function newToken(user: string, via: GatewayProcess) {
  return createToken(via.adminUrl, {
    user,
    resource_owner: user,
    repositories: 'all',
    permissions: { issues: 'read' },
  });
}

describe('webhooks on a Cluster', () => {
  it('delivers every event written on either instance once, claimed by one instance', async () => {
    const receiver = await new Receiver().start();
    try {
      const sub = await admin(a.adminUrl, 'POST', '/v1/webhooks', {
        url: receiver.url,
        events: ['token.created'],
      });
      expect(sub.status, JSON.stringify(sub.body)).toBe(201);
      const subId = String(sub.body.id);
      const tokens = [];
      for (let i = 0; i < 8; i++) tokens.push(await newToken(`wh-user${i}`, i % 2 === 0 ? a : b));
      for (const token of tokens) await receiver.next(ofType('token.created', token.id));
      const ids = receiver.requests
        .filter(ofType('token.created'))
        .map((r) => String(r.headers['webhook-id']));
      expect(new Set(ids).size).toBe(tokens.length);
      expect(ids).toHaveLength(tokens.length);

      await eventually(
        async () =>
          (await deliveryLog(subId)).filter((d) => d.status === 'delivered').length === tokens.length,
        5_000,
        'the delivery log to show every delivery delivered',
      );
      // One attempt each: one claim, by one instance.
      for (const entry of await deliveryLog(subId)) {
        expect(entry).toMatchObject({ status: 'delivered', attempts: 1, last_response_code: 200 });
      }
      await eventually(
        async () => ids.every((id) => finishedBy(a).has(id) || finishedBy(b).has(id)),
        5_000,
        'every attempt logged by the instance that made it',
      );
      const [onA, onB] = [finishedBy(a), finishedBy(b)];
      for (const id of ids) {
        const attempts = [...(onA.get(id) ?? []), ...(onB.get(id) ?? [])];
        expect(attempts, `attempts of ${id}`).toHaveLength(1);
        expect(attempts[0]).toMatchObject({ outcome: 'delivered', recorded: true });
      }
      expect((await admin(a.adminUrl, 'DELETE', `/v1/webhooks/${subId}`)).status).toBeLessThan(300);
    } finally {
      await receiver.close();
    }
  }, 30_000);

  it('lets the other instance claim while one is busy, and retries a hung attempt to delivery', async () => {
    const receiver = await new Receiver().start();
    try {
      const sub = await admin(a.adminUrl, 'POST', '/v1/webhooks', {
        url: receiver.url,
        events: ['token.created'],
      });
      expect(sub.status).toBe(201);
      // The first attempt hangs: its instance (concurrency 1) has no slot left until it times out.
      receiver.answers = ['hang'];
      const first = await newToken('wh-hung', a);
      const hung = await receiver.next(ofType('token.created', first.id));
      const second = await newToken('wh-other', b);
      const delivered = await receiver.next(ofType('token.created', second.id));
      // Answered while the first still hung: taken by the other instance.
      expect(delivered.at - hung.at).toBeLessThan(WEBHOOK_TIMEOUT_MS);
      const hungId = String(hung.headers['webhook-id']);
      const deliveredId = String(delivered.headers['webhook-id']);
      // The receiver can hear the attempt before the test has read the instance's log line for it.
      const attempted = (g: GatewayProcess): boolean =>
        g.output.some((l) => l.includes('"webhook attempt"') && l.includes(hungId));
      await eventually(async () => attempted(a) || attempted(b), 5_000, 'the hung attempt logged');
      const hungBy = [a, b].filter(attempted);
      await eventually(
        async () => finishedBy(a).has(deliveredId) || finishedBy(b).has(deliveredId),
        5_000,
        'the second delivery logged',
      );
      const deliveredBy = [a, b].filter((g) => finishedBy(g).has(deliveredId));
      expect(hungBy).toHaveLength(1);
      expect(deliveredBy).toHaveLength(1);
      expect(deliveredBy[0]).not.toBe(hungBy[0]);

      // The hung attempt times out and is retried: delivered at the second attempt, same id.
      const retried = await receiver.nth(2, ofType('token.created', first.id), 3 * WEBHOOK_TIMEOUT_MS);
      expect(retried.headers['webhook-id']).toBe(hungId);
      await eventually(
        async () =>
          (await deliveryLog(String(sub.body.id))).some(
            (d) => d.id === hungId && d.status === 'delivered' && d.attempts === 2,
          ),
        5_000,
        'the hung delivery delivered at its second attempt',
      );
    } finally {
      await receiver.close();
    }
  }, 30_000);
});

describe('rate limits on a Cluster', () => {
  it('spends one budget across both instances, then refuses on both', async () => {
    const limit = 30;
    const created = await newToken('rl-cluster', a);
    const path = '/repos/rl-cluster/r/issues';
    let allowed = 0;
    for (let i = 0; i < limit; i++) {
      const gateway = i % 2 === 0 ? a : b;
      let answer = await call(gateway.url, 'GET', path, { token: created.token });
      if (answer.status === 429) {
        // Near the end an instance may refuse while the other holds an unspent reservation of at
        // most one point, given back after an idle reconcile (docs/rate-limits.md, "Overshoot").
        expect(limit - allowed, `refused with ${allowed} of ${limit} spent`).toBeLessThanOrEqual(1);
        await eventually(
          async () => {
            answer = await call(gateway.url, 'GET', path, { token: created.token });
            return answer.status !== 429;
          },
          2_000,
          'the other instance to give back its reservation',
        );
      }
      expect(answer.status, `point ${i + 1} of ${limit}`).toBe(200);
      allowed++;
    }
    for (const gateway of [a, b]) {
      const refused = await call(gateway.url, 'GET', path, { token: created.token });
      expect(refused.status).toBe(429);
      expect(refused.headers['x-ratelimit-used']).toBe(String(limit));
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    }
  }, 30_000);
});

describe('console sessions on a Cluster', () => {
  const store = () =>
    new RedisSessionStore({
      url: '',
      cluster: {
        nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
      },
      keyPrefix: PREFIX,
      commandTimeoutMs: 2_000,
      limits: { idleMs: 60_000, absoluteMs: 3_600_000 },
    });
  const session = (at: number): ConsoleSession => ({
    user: 'alice',
    csrfToken: 'c'.repeat(43),
    createdAt: at,
    lastSeenAt: at,
  });

  it('a session made on one instance is resumed and ended on another', async () => {
    const [one, two] = [store(), store()];
    try {
      await one.create('cluster-h1', session(Date.now()));
      expect((await two.resume('cluster-h1'))?.user).toBe('alice');
      await two.saveSignIn('cluster-s1', { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/console' });
      expect((await one.takeSignIn('cluster-s1'))?.state).toBe('s');
      expect(await two.takeSignIn('cluster-s1')).toBeNull();
      await two.end('cluster-h1');
      expect(await one.resume('cluster-h1')).toBeNull();
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

describe('leak-report limits on a Cluster', () => {
  it('counts one address across instances', async () => {
    const settings = {
      nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    };
    const clients = [0, 1].map(() =>
      clusterClient(settings, { commandTimeoutMs: 2_000, offlineQueue: true }),
    );
    try {
      const [one, two] = clients.map((client) => reportLimiter(3, { client, keyPrefix: PREFIX }));
      if (one === undefined || two === undefined) throw new Error('two limiters');
      for (const limiter of [one, two, one]) expect(await limiter.take('198.51.100.7')).toEqual({ ok: true });
      for (const limiter of [one, two]) {
        expect(await limiter.take('198.51.100.7')).toMatchObject({ ok: false });
      }
      // Another address has its own budget.
      expect(await two.take('198.51.100.8')).toEqual({ ok: true });
    } finally {
      for (const client of clients) client.disconnect();
    }
  });
});
