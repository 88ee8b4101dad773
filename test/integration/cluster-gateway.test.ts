import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import {
  admin,
  type CreatedToken,
  call,
  createToken,
  FEATURES,
  ROUTES,
  stackConfig,
} from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// Far longer than any test here: a refusal on B can only come from an invalidation.
const LONG_TTL_MS = 60_000;
const PROPAGATION_BOUND_MS = 1_000;
const ORGS = Array.from({ length: 12 }, (_, i) => `org${i}`);
const PREFIX = 'pgcluster:';

let cluster: TestCluster;
let standalone: TestRedis;
let upstream: TestUpstream;
// a and b share the cluster; solo runs the same requests on one Redis.
let a: GatewayProcess;
let b: GatewayProcess;
let solo: GatewayProcess;

function clusterConfig(upstreamUrl: string): string {
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
  ttl_ms: ${LONG_TTL_MS}
  negative_ttl_ms: 500
hide_forbidden: true
shutdown_grace_ms: 3000
${FEATURES}${ROUTES}`;
}

beforeAll(async () => {
  [cluster, standalone, upstream] = await Promise.all([
    startRedisCluster({ nodeTimeoutMs: 1_500 }),
    startRedisServer(),
    startTestUpstream(),
  ]);
  const env = { env: { PATGATE_LOG_LEVEL: 'info' } };
  [a, b, solo] = await Promise.all([
    startGateway(clusterConfig(upstream.url), env),
    startGateway(clusterConfig(upstream.url), env),
    startGateway(stackConfig({ store: 'redis', cacheTtlMs: LONG_TTL_MS }, upstream.url, standalone.url), env),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), solo?.stop()]);
  await upstream?.close();
  await Promise.all([cluster?.stop(), standalone?.stop()]);
});

/** The same people, orgs and tokens on one gateway; the tokens by name. */
async function populate(gateway: GatewayProcess): Promise<Map<string, CreatedToken>> {
  const tokens = new Map<string, CreatedToken>();
  for (const org of ORGS) {
    expect(
      (await admin(gateway.adminUrl, 'PUT', `/v1/orgs/${org}/members/alice`, { role: 'member' })).status,
    ).toBe(200);
    tokens.set(
      `fine:${org}`,
      await createToken(gateway.adminUrl, {
        user: 'alice',
        resource_owner: org,
        repositories: ['api'],
        permissions: { contents: 'read' },
      }),
    );
  }
  // A token of someone who is no member any more; an org that blocks classic tokens.
  expect(
    (await admin(gateway.adminUrl, 'PUT', '/v1/orgs/org0/members/mallory', { role: 'member' })).status,
  ).toBe(200);
  tokens.set(
    'outsider',
    await createToken(gateway.adminUrl, {
      user: 'mallory',
      resource_owner: 'org0',
      repositories: 'all',
      permissions: { contents: 'read' },
    }),
  );
  expect((await admin(gateway.adminUrl, 'DELETE', '/v1/orgs/org0/members/mallory')).status).toBeLessThan(300);
  expect(
    (await admin(gateway.adminUrl, 'PUT', '/v1/orgs/org1/policy', { classic_tokens: 'blocked' })).status,
  ).toBe(200);
  tokens.set(
    'classic',
    await createToken(gateway.adminUrl, { kind: 'classic', user: 'alice', scopes: ['read'] }),
  );
  const revoked = await createToken(gateway.adminUrl, {
    user: 'alice',
    resource_owner: 'org2',
    repositories: 'all',
    permissions: { contents: 'read' },
  });
  expect((await admin(gateway.adminUrl, 'DELETE', `/v1/tokens/${revoked.id}`)).status).toBeLessThan(300);
  tokens.set('revoked', revoked);
  return tokens;
}

/** Every token against every org's repository, read and write, and the user's own account. */
async function answers(gateway: GatewayProcess, tokens: Map<string, CreatedToken>): Promise<string[]> {
  const out: string[] = [];
  const paths = [
    ...ORGS.flatMap((org) => [
      `GET /repos/${org}/api/contents/readme.md`,
      `PUT /repos/${org}/api/contents/readme.md`,
      `GET /repos/${org}/web/contents/readme.md`,
    ]),
    'GET /repos/alice/dotfiles/contents/readme.md',
  ];
  for (const [name, token] of tokens) {
    for (const line of paths) {
      const [method = 'GET', path = '/'] = line.split(' ');
      const answer = await call(gateway.url, method, path, {
        token: token.token,
        ...(method === 'PUT' ? { body: 'x' } : {}),
      });
      out.push(`${name} ${line} -> ${answer.status} ${problemCode(answer) ?? ''}`);
    }
  }
  const unknown = `pgt_${'a'.repeat(36)}`;
  out.push(
    `unknown -> ${(await call(gateway.url, 'GET', '/repos/org0/api/contents/readme.md', { token: unknown })).status}`,
  );
  return out;
}

describe('the gateway on a Redis Cluster', () => {
  it('allows and refuses tokens across many orgs exactly as on one Redis', async () => {
    const onCluster = await populate(a);
    const onOne = await populate(solo);
    const fromA = await answers(a, onCluster);
    const fromB = await answers(b, onCluster);
    const fromSolo = await answers(solo, onOne);
    expect(fromA).toEqual(fromSolo);
    expect(fromB).toEqual(fromSolo);
    // The matrix is not all one answer: allowed, refused for each reason.
    const statuses = new Set(fromSolo.map((line) => line.split(' -> ')[1]?.split(' ')[0]));
    for (const status of ['200', '401', '403', '404']) expect(statuses).toContain(status);
  }, 120_000);

  it(`a revocation on instance A is refused on instance B within ${PROPAGATION_BOUND_MS} ms`, async () => {
    for (const org of ORGS) {
      const token = await createToken(a.adminUrl, {
        user: 'alice',
        resource_owner: org,
        repositories: 'all',
        permissions: { contents: 'read' },
      });
      const path = `/repos/${org}/api/contents/readme.md`;
      for (let i = 0; i < 2; i++)
        expect((await call(b.url, 'GET', path, { token: token.token })).status).toBe(200);
      const started = performance.now();
      const revoked = admin(a.adminUrl, 'DELETE', `/v1/tokens/${token.id}`);
      for (;;) {
        const answer = await call(b.url, 'GET', path, { token: token.token });
        const elapsed = performance.now() - started;
        if (problemCode(answer) === 'token_revoked') {
          expect((await revoked).status).toBeLessThan(300);
          expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
          break;
        }
        expect(answer.status, answer.text).toBe(200);
        if (elapsed > PROPAGATION_BOUND_MS * 5)
          throw new Error(`B still allows after ${Math.round(elapsed)} ms`);
      }
    }
  }, 60_000);
});

function problemCode(answer: { status: number; text: string }): string | null {
  if (answer.status < 400) return null;
  try {
    const type = (JSON.parse(answer.text) as { type?: string }).type ?? '';
    return type.slice(type.lastIndexOf('/') + 1);
  } catch {
    return null;
  }
}
