import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, createToken, FEATURES, ROUTES, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ofType, Receiver, webhooksConfig } from './events-receiver.js';

/**
 * Head-of-line blocking (docs/events.md#latency-and-a-receiver-that-is-down): a receiver
 * that accepts and never answers holds at most `concurrency_per_subscription` of an
 * instance's delivery slots, so another subscription's events still arrive at once. Without
 * the cap its attempts took all `concurrency` slots for `timeout_ms` each, and the healthy
 * receiver's events waited behind them. One instance per store, so "in flight" is exact.
 */

// Far past the healthy receiver's budget: an event that waited behind one hanging attempt fails.
const TIMEOUT_MS = 10_000;
const HEALTHY_BUDGET_MS = TIMEOUT_MS / 4;
const CONCURRENCY = 4;
const PER_SUBSCRIPTION = 2;
const EVENTS = 12;

const WEBHOOKS = webhooksConfig({
  timeout_ms: TIMEOUT_MS,
  concurrency: CONCURRENCY,
  concurrency_per_subscription: PER_SUBSCRIPTION,
});

type StoreKind = 'memory' | 'redis' | 'cluster';

let upstream: TestUpstream;
let redis: TestRedis;
let cluster: TestCluster;

beforeAll(async () => {
  [upstream, redis, cluster] = await Promise.all([
    startTestUpstream(),
    startRedisServer(),
    startRedisCluster(),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([upstream?.close(), redis?.stop(), cluster?.stop()]);
});

function configFor(kind: StoreKind): string {
  if (kind === 'memory') return stackConfig({ store: 'memory' }, upstream.url, undefined) + WEBHOOKS;
  if (kind === 'redis') {
    return (
      stackConfig({ store: 'redis', keyPrefix: 'slow:', commandTimeoutMs: 2_000 }, upstream.url, redis.url) +
      WEBHOOKS
    );
  }
  return `listen: "127.0.0.1:0"
upstream:
  url: "${upstream.url}"
admin:
  listen: "127.0.0.1:0"
store:
  cluster:
    nodes: [${cluster.nodes.map((n) => `"${n}"`).join(', ')}]
  key_prefix: "slow:"
  command_timeout_ms: 2000
${WEBHOOKS}${FEATURES}${ROUTES}`;
}

async function subscribe(gateway: GatewayProcess, receiver: Receiver): Promise<string> {
  const answer = await admin(gateway.adminUrl, 'POST', '/v1/webhooks', {
    url: receiver.url,
    events: ['token.created'],
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body.id as string;
}

describe.each<StoreKind>(['memory', 'redis', 'cluster'])('webhooks on the %s store', (kind) => {
  it('a receiver that never answers holds its own slots only: the healthy one gets every event well within one timeout', async () => {
    const gateway = await startGateway(configFor(kind));
    const slow = new Receiver();
    slow.mode = 'hang';
    const healthy = new Receiver();
    await Promise.all([slow.start(), healthy.start()]);
    try {
      // The stuck subscription first: on every store its deliveries of an event come due
      // no later than the healthy one's, so without the cap they would take the slots first.
      const slowId = await subscribe(gateway, slow);
      await subscribe(gateway, healthy);

      const answered: { id: string; at: number }[] = [];
      for (let i = 0; i < EVENTS; i++) {
        const token = await createToken(gateway.adminUrl, {
          user: 'carol',
          resource_owner: 'carol',
          name: `burst-${i}`,
          repositories: 'all',
          permissions: { issues: 'read' },
        });
        answered.push({ id: token.id, at: Date.now() });
      }
      const arrivals = await Promise.all(
        answered.map(({ id }) =>
          healthy.next(ofType('token.created', id), HEALTHY_BUDGET_MS + 2_000, `token.created for ${id}`),
        ),
      );
      const waits = arrivals.map((r, i) => r.at - (answered[i]?.at ?? 0));
      expect(Math.max(...waits), `waits: ${waits.join(', ')} ms`).toBeLessThan(HEALTHY_BUDGET_MS);

      // The stuck receiver got its cap's worth of attempts, all still hanging: the first one
      // began before the healthy receiver's last event, so none has timed out yet.
      await slow.nth(PER_SUBSCRIPTION, () => true, HEALTHY_BUDGET_MS);
      const firstSlow = slow.requests[0]?.at ?? 0;
      expect(Math.max(...arrivals.map((r) => r.at)) - firstSlow).toBeLessThan(TIMEOUT_MS);
      expect(slow.requests).toHaveLength(PER_SUBSCRIPTION);

      // The rest wait, still due, no attempt counted against them.
      const log = await admin(gateway.adminUrl, 'GET', `/v1/webhooks/${slowId}/deliveries`);
      expect(log.status).toBe(200);
      const deliveries = log.body.deliveries as { status: string; attempts: number }[];
      expect(deliveries).toHaveLength(EVENTS);
      expect(deliveries.every((d) => d.status === 'pending')).toBe(true);
      expect(deliveries.filter((d) => d.attempts === 1)).toHaveLength(PER_SUBSCRIPTION);
      expect(deliveries.filter((d) => d.attempts === 0)).toHaveLength(EVENTS - PER_SUBSCRIPTION);
    } finally {
      // The receivers first: their hanging answers end, so the gateway's attempts end too.
      await Promise.allSettled([slow.close(), healthy.close()]);
      await gateway.stop();
    }
  });
});
