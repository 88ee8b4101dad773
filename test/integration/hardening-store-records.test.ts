import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  type CreatedToken,
  call,
  createToken,
  type GatewayAnswer,
  type Stack,
  startStack,
} from '../helpers/stack.js';

/**
 * Regression for "records trusted as read": a record in Redis that is not of the
 * shape patgate writes must fail closed (503 for the requests it concerns), never
 * be read as the nearest thing that would allow. The records are written raw, under
 * the store's real key layout (redis-keys.ts), as another writer or an operator
 * with redis-cli could leave them.
 */
const PREFIX = 'pghard:';
let stack: Stack;
let raw: Redis;

beforeAll(async () => {
  stack = await startStack({ store: 'redis', keyPrefix: PREFIX });
  raw = new Redis(stack.redis?.url ?? '', { lazyConnect: false });
  // Orgs first: admin writes read listings that the corrupt records below would be part of.
  // up1 blocks fine-grained tokens; up2 has members, but not erin; erin is a member of up3.
  await ok('PUT', '/v1/orgs/up1/members/erin', { role: 'member' });
  await ok('PUT', '/v1/orgs/up1/policy', { fine_grained_tokens: 'blocked' });
  await ok('PUT', '/v1/orgs/up2/members/frank', { role: 'member' });
  await ok('PUT', '/v1/orgs/up3/members/erin', { role: 'member' });
  await ok('PUT', '/v1/orgs/pol1/members/carol', { role: 'member' });
  await ok('PUT', '/v1/orgs/role1/members/dan', { role: 'member' });
});

afterAll(async () => {
  await raw?.quit();
  await stack?.close();
});

async function ok(method: 'PUT' | 'POST', path: string, body: unknown): Promise<void> {
  const answer = await admin(stack.gateway.adminUrl, method, path, body);
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
}

/** A real token of `user` (fine-grained on their own account unless `body` says otherwise), and where its record lives. */
async function tokenOf(
  user: string,
  body: Record<string, unknown> = {},
): Promise<{ token: CreatedToken; key: string; record: Record<string, unknown> }> {
  const token = await createToken(stack.gateway.adminUrl, {
    user,
    resource_owner: user,
    repositories: ['api'],
    permissions: { issues: 'read' },
    ...body,
  });
  const hash = await raw.get(`${PREFIX}tokid:${token.id}`);
  const key = `${PREFIX}tok:${hash}`;
  const json = await raw.get(key);
  if (hash === null || json === null) throw new Error(`no record for ${token.id}`);
  return { token, key, record: JSON.parse(json) as Record<string, unknown> };
}

/** Rewrites a record in place, keeping its expiry (the store's PEXPIREAT). */
async function rewrite(key: string, record: Record<string, unknown>): Promise<void> {
  await raw.set(key, JSON.stringify(record), 'KEEPTTL');
}

async function send(path: string, token: CreatedToken): Promise<GatewayAnswer> {
  return call(stack.gateway.url, 'GET', path, { token: token.token });
}

function corruptLogLines(key: string): string[] {
  return stack.gateway.output.filter((line) => line.includes('corrupt record') && line.includes(key));
}

describe('records trusted as read', () => {
  /** Each case: a token whose record (or whose owner's records) is corrupted, and a request it would be allowed before. */
  const corruptTokens: [string, (r: Record<string, unknown>) => Record<string, unknown>, string][] = [
    ['an unknown status', (r) => ({ ...r, status: 'frozen' }), 'api'],
    ['a status in another case', (r) => ({ ...r, status: 'Active' }), 'api'],
    // decide() would match `repositories` letter by letter: repo "a" is in "api".
    ['repositories as a string', (r) => ({ ...r, repositories: 'api' }), 'a'],
    ['a repository that is no string', (r) => ({ ...r, repositories: ['api', 1] }), 'api'],
    ['an unknown permission level', (r) => ({ ...r, permissions: { issues: 'superuser' } }), 'api'],
    ['an unknown kind', (r) => ({ ...r, kind: 'oauth' }), 'api'],
    ['an unknown field', (r) => ({ ...r, trustedNetworks: ['0.0.0.0/0'] }), 'api'],
    ['an expiry that is no instant', (r) => ({ ...r, expiresAt: 'never' }), 'api'],
    ['a resource owner that is no login', (r) => ({ ...r, resourceOwner: 'u1:members' }), 'api'],
  ];

  it.each(corruptTokens)(
    'a token record with %s: 503, upstream never called',
    async (label, corrupt, repo) => {
      const user = `u${corruptTokens.findIndex(([l]) => l === label)}`;
      const { token, key, record } = await tokenOf(user);
      await rewrite(key, corrupt({ ...record, resourceOwner: user }));
      const before = stack.upstream.requests.length;
      const answer = await send(`/repos/${user}/${repo}/issues`, token);
      expect(answer.status, answer.text).toBe(503);
      expect(stack.upstream.requests.length).toBe(before);
    },
  );

  it('a record that is not JSON: 503', async () => {
    const { token, key } = await tokenOf('nj');
    await raw.set(key, '{"kind":"fine_grained",', 'KEEPTTL');
    expect((await send('/repos/nj/api/issues', token)).status).toBe(503);
  });

  it('an org policy with an unknown classicTokens value: 503 for the tokens reaching that org', async () => {
    const policyKey = `${PREFIX}org:pol1:policy`;
    const policy = JSON.parse((await raw.get(policyKey)) ?? '{}') as Record<string, unknown>;
    // "Blocked" is not "blocked": read as anything but blocked, it would let classic tokens in.
    await raw.set(policyKey, JSON.stringify({ ...policy, classicTokens: 'Blocked' }));
    const classic = await createToken(stack.gateway.adminUrl, {
      kind: 'classic',
      user: 'carol',
      scopes: ['read'],
    });
    const before = stack.upstream.requests.length;
    expect((await send('/repos/pol1/api/issues', classic)).status).toBe(503);
    // The same token elsewhere is unaffected: only the lookups of the corrupt record fail.
    expect((await send('/repos/carol/api/issues', classic)).status).toBe(200);
    expect(stack.upstream.requests.length).toBe(before + 1);
  });

  it('a member role patgate does not know: 503', async () => {
    await raw.hset(`${PREFIX}org:role1:members`, 'dan', 'owner');
    const classic = await createToken(stack.gateway.adminUrl, {
      kind: 'classic',
      user: 'dan',
      scopes: ['read'],
    });
    expect((await send('/repos/role1/api/issues', classic)).status).toBe(503);
  });

  it('logs a corrupt record once per key, not once per request', async () => {
    const { token, key, record } = await tokenOf('logonce');
    await rewrite(key, { ...record, status: 'frozen' });
    for (let i = 0; i < 3; i++) expect((await send('/repos/logonce/api/issues', token)).status).toBe(503);
    // A second corrupt record, read after those: once its line is out, every line the three
    // requests above could have logged is out too (one process, one stdout, in order).
    const marker = await tokenOf('logmark');
    await rewrite(marker.key, { ...marker.record, status: 'frozen' });
    expect((await send('/repos/logmark/api/issues', marker.token)).status).toBe(503);
    await stack.gateway.waitForLine((line) => line.includes('corrupt record') && line.includes(marker.key));
    expect(corruptLogLines(key)).toHaveLength(1);
    expect(corruptLogLines(key)[0]).toContain('status');
  });

  describe('names compare case-insensitively', () => {
    it("an upper-case resource owner still meets the org's policy", async () => {
      const { token, key, record } = await tokenOf('erin');
      await rewrite(key, { ...record, resourceOwner: 'UP1' });
      const before = stack.upstream.requests.length;
      const answer = await send('/repos/up1/api/issues', token);
      expect(answer.status, answer.text).toBe(403);
      expect(answer.json().type).toMatch(/fine_grained_blocked$/);
      expect(stack.upstream.requests.length).toBe(before);
    });

    it("an upper-case resource owner still meets the org's membership", async () => {
      const { token, key, record } = await tokenOf('erin');
      await rewrite(key, { ...record, resourceOwner: 'Up2' });
      const answer = await send('/repos/up2/api/issues', token);
      expect(answer.status, answer.text).toBe(403);
      expect(answer.json().type).toMatch(/not_member$/);
    });

    it('an upper-case owner and user of a member are allowed as the member they are', async () => {
      const { token, key, record } = await tokenOf('erin');
      await rewrite(key, { ...record, resourceOwner: 'UP3', user: 'ERIN' });
      expect((await send('/repos/up3/api/issues', token)).status).toBe(200);
    });
  });
});
