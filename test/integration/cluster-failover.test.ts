import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { admin, call, createToken, FEATURES, ROUTES } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

const NODE_TIMEOUT_MS = 1_000;
const PREFIX = 'pgfailover:';
// Short: the store is asked again and again while the slot changes hands.
const CACHE_TTL_MS = 100;
// After the cluster is whole again: the client's slot map refresh (1 s) and one command timeout.
const RECOVERY_SLACK_MS = 2_500;

let cluster: TestCluster;
let upstream: TestUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  [cluster, upstream] = await Promise.all([
    startRedisCluster({ nodeTimeoutMs: NODE_TIMEOUT_MS }),
    startTestUpstream(),
  ]);
  gateway = await startGateway(
    `listen: "127.0.0.1:0"
upstream:
  url: "${upstream.url}"
  timeout_ms: 2000
  connect_timeout_ms: 1000
admin:
  listen: "127.0.0.1:0"
store:
  cluster:
    nodes: [${cluster.nodes.map((n) => `"${n}"`).join(', ')}]
  key_prefix: "${PREFIX}"
  command_timeout_ms: 300
cache:
  ttl_ms: ${CACHE_TTL_MS}
  negative_ttl_ms: 50
hide_forbidden: true
shutdown_grace_ms: 3000
${FEATURES}${ROUTES}`,
    { env: { PATGATE_LOG_LEVEL: 'info' } },
  );
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await cluster?.stop();
});

interface Sample {
  readonly at: number;
  readonly status: number;
}

describe('a Cluster primary killed mid-traffic', () => {
  it('fails over with no wrongful allow, and 503 only while the slot has no primary', async () => {
    expect(
      (await admin(gateway.adminUrl, 'PUT', '/v1/orgs/acme/members/alice', { role: 'member' })).status,
    ).toBe(200);
    const body = {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    };
    const live = await createToken(gateway.adminUrl, body);
    const revoked = await createToken(gateway.adminUrl, body);
    expect((await admin(gateway.adminUrl, 'DELETE', `/v1/tokens/${revoked.id}`)).status).toBeLessThan(300);
    const path = '/repos/acme/api/contents/readme.md';
    expect((await call(gateway.url, 'GET', path, { token: live.token })).status).toBe(200);

    // The primary that holds acme's token, policy and members.
    const victim = await cluster.primaryPortFor(`${PREFIX}{acme}:policy`);
    const samples = { live: [] as Sample[], revoked: [] as Sample[] };
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        const [l, r] = await Promise.all([
          call(gateway.url, 'GET', path, { token: live.token }),
          call(gateway.url, 'GET', path, { token: revoked.token }),
        ]);
        const at = performance.now();
        samples.live.push({ at, status: l.status });
        samples.revoked.push({ at, status: r.status });
      }
    })();

    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedAt = performance.now();
    await cluster.kill(victim);
    await cluster.waitUntilHealthy(30_000);
    const healthyAt = performance.now();
    // Traffic until the live token has been allowed again for a while.
    const deadline = healthyAt + 15_000;
    for (;;) {
      const recent = samples.live.slice(-20);
      if (recent.length === 20 && recent.every((s) => s.status === 200 && s.at > healthyAt)) break;
      if (performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stop = true;
    await traffic;

    // Never an allow for the revoked token; the live one is allowed or 503, nothing else.
    expect(samples.revoked.filter((s) => s.status === 200)).toEqual([]);
    expect(new Set(samples.revoked.map((s) => s.status))).toEqual(
      new Set(samples.revoked.map((s) => s.status).filter((s) => s === 401 || s === 503)),
    );
    expect(samples.live.filter((s) => s.status !== 200 && s.status !== 503).map((s) => s.status)).toEqual([]);
    const unavailable = samples.live.filter((s) => s.status === 503);
    // The kill was felt, and the 503s sit between the kill and the cluster's recovery.
    expect(unavailable.length).toBeGreaterThan(0);
    const first = unavailable[0]?.at ?? killedAt;
    const last = unavailable[unavailable.length - 1]?.at ?? killedAt;
    expect(first).toBeGreaterThanOrEqual(killedAt);
    expect(last).toBeLessThan(healthyAt + RECOVERY_SLACK_MS);
    expect(samples.live.at(-1)?.status).toBe(200);
    console.log(
      `failover window: cluster whole again ${Math.round(healthyAt - killedAt)} ms after the kill; ` +
        `503s from +${Math.round(first - killedAt)} ms to +${Math.round(last - killedAt)} ms ` +
        `(${unavailable.length} of ${samples.live.length} requests; cluster-node-timeout ${NODE_TIMEOUT_MS} ms)`,
    );
  }, 90_000);
});
