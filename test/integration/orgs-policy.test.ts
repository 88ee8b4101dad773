import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, type CreatedToken, call, createToken, type Stack, startStack } from '../helpers/stack.js';

/** Org policy at creation and at use, classic reach, the approval flow and the org's token list (Redis store). */
let stack: Stack;
let gw: string;
let adminUrl: string;

beforeAll(async () => {
  stack = await startStack({ store: 'redis' });
  gw = stack.gateway.url;
  adminUrl = stack.gateway.adminUrl;
});

afterAll(async () => {
  await stack?.close();
});

async function ok(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) {
  const answer = await admin(adminUrl, method, path, body);
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body;
}

async function org(name: string, members: string[], policy?: Record<string, unknown>): Promise<void> {
  for (const user of members) await ok('PUT', `/v1/orgs/${name}/members/${user}`, { role: 'member' });
  if (policy) await ok('PUT', `/v1/orgs/${name}/policy`, policy);
}

function fine(owner: string, user: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'fine_grained',
    name: 'ci',
    user,
    resource_owner: owner,
    repositories: ['api'],
    permissions: { issues: 'read' },
    expires_in_days: 30,
    ...extra,
  };
}

function issues(owner: string): string {
  return `/repos/${owner}/api/issues`;
}

describe('policy at creation', () => {
  it('refuses a lifetime beyond max_lifetime_days with a 422 naming the policy and the field', async () => {
    await org('p1', ['alice'], { max_lifetime_days: 14 });
    const answer = await admin(adminUrl, 'POST', '/v1/tokens', fine('p1', 'alice', { expires_in_days: 15 }));
    expect(answer.status).toBe(422);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({
      field: 'expires_at',
      detail: expect.stringMatching(
        /organization p1 allows tokens of at most 14 days \(policy max_lifetime_days\)/,
      ),
    });
    const at = new Date(Date.now() + 20 * 86_400_000).toISOString();
    expect(
      (
        await admin(
          adminUrl,
          'POST',
          '/v1/tokens',
          fine('p1', 'alice', { expires_in_days: undefined, expires_at: at }),
        )
      ).status,
    ).toBe(422);
    expect(
      (await admin(adminUrl, 'POST', '/v1/tokens', fine('p1', 'alice', { expires_in_days: 14 }))).status,
    ).toBe(201);
    // Nothing half-written: only the accepted token exists.
    const listed = (await ok('GET', '/v1/tokens?resource_owner=p1')) as { tokens: unknown[] };
    expect(listed.tokens).toHaveLength(1);
  });

  it('refuses a fine-grained token for an org that blocks them, naming the policy', async () => {
    await org('p2', ['alice'], { fine_grained_tokens: 'blocked' });
    const answer = await admin(adminUrl, 'POST', '/v1/tokens', fine('p2', 'alice'));
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      field: 'resource_owner',
      detail: expect.stringMatching(/fine_grained_tokens: blocked/),
    });
  });

  it('refuses a token for a registered org the user is not a member of', async () => {
    await org('p3', ['alice']);
    const answer = await admin(adminUrl, 'POST', '/v1/tokens', fine('p3', 'mallory'));
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      field: 'user',
      detail: expect.stringMatching(/mallory is not a member of organization p3/),
    });
  });

  it('answers bad policy input with a 400 naming the field, and changes nothing', async () => {
    await org('p4', ['alice'], { max_lifetime_days: 30 });
    for (const body of [{ max_lifetime_days: 0 }, { classic_tokens: 'maybe' }, { require_aproval: true }]) {
      const answer = await admin(adminUrl, 'PUT', '/v1/orgs/p4/policy', body);
      expect(answer.status).toBe(400);
      expect(answer.body.field).toBe(Object.keys(body)[0]);
    }
    expect(await ok('GET', '/v1/orgs/p4/policy')).toMatchObject({
      max_lifetime_days: 30,
      classic_tokens: 'allowed',
    });
  });
});

describe('classic tokens', () => {
  let alice: CreatedToken;
  beforeAll(async () => {
    await org('c1', ['alice']);
    await org('c2', ['bob']);
    alice = await createToken(adminUrl, { kind: 'classic', user: 'alice', scopes: ['read'] });
  });

  it("reach the user's own account and every org the user is a member of", async () => {
    expect(alice.token.startsWith('pgc_')).toBe(true);
    expect((await call(gw, 'GET', issues('alice'), { token: alice.token })).status).toBe(200);
    expect((await call(gw, 'GET', issues('c1'), { token: alice.token })).status).toBe(200);
  });

  it('reach nothing else: another org, another user (hidden as 404)', async () => {
    expect((await call(gw, 'GET', issues('c2'), { token: alice.token })).status).toBe(404);
    expect((await call(gw, 'GET', issues('bob'), { token: alice.token })).status).toBe(404);
  });

  it('hold their broad scope over every feature, and no more', async () => {
    expect((await call(gw, 'GET', '/repos/c1/web/contents/a.md', { token: alice.token })).status).toBe(200);
    const write = await call(gw, 'PUT', '/repos/c1/web/contents/a.md', { token: alice.token, body: 'x' });
    expect(write.status).toBe(403);
    expect(write.headers['x-accepted-permissions']).toBe('contents=write');
  });

  it('are refused by an org that blocks them, naming the policy, while still reaching the rest', async () => {
    await org('c3', ['alice'], { classic_tokens: 'blocked' });
    const refused = await call(gw, 'GET', issues('c3'), { token: alice.token });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({
      title: 'Refused by organization policy',
      detail: expect.stringMatching(/organization c3 blocks classic tokens/),
    });
    expect((await call(gw, 'GET', issues('c1'), { token: alice.token })).status).toBe(200);
  });
});

describe('approval flow', () => {
  let pending: CreatedToken;
  beforeAll(async () => {
    await org('a1', ['alice', 'bob'], { require_approval: true });
  });

  it('a token for an org that requires approval starts pending: 403 pending approval', async () => {
    pending = (await ok('POST', '/v1/tokens', fine('a1', 'alice'))) as unknown as CreatedToken;
    expect(pending.status).toBe('pending');
    const refused = await call(gw, 'GET', issues('a1'), { token: pending.token });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({
      title: 'Token pending approval',
      detail: expect.stringMatching(/waiting for approval by organization a1/),
    });
  });

  it("is listed among the org's requests, and approval lets it through", async () => {
    const { requests } = (await ok('GET', '/v1/orgs/a1/token-requests')) as { requests: { id: string }[] };
    expect(requests.map((r) => r.id)).toEqual([pending.id]);
    expect(await ok('POST', `/v1/orgs/a1/token-requests/${pending.id}/approve`, {})).toMatchObject({
      status: 'active',
    });
    expect((await call(gw, 'GET', issues('a1'), { token: pending.token })).status).toBe(200);
    expect(((await ok('GET', '/v1/orgs/a1/token-requests')) as { requests: unknown[] }).requests).toEqual([]);
  });

  it('a denied request gets a 403 that says denied, with the reason', async () => {
    const t = (await ok('POST', '/v1/tokens', fine('a1', 'bob'))) as unknown as CreatedToken;
    expect(
      await ok('POST', `/v1/orgs/a1/token-requests/${t.id}/deny`, { reason: 'ask for read-only' }),
    ).toMatchObject({
      status: 'denied',
      status_reason: 'ask for read-only',
    });
    const refused = await call(gw, 'GET', issues('a1'), { token: t.token });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({
      title: 'Token denied by the organization',
      detail: expect.stringMatching(/denied by organization a1: ask for read-only/),
    });
  });

  it("a decided request cannot be decided again (409), and another org's request is unknown (404)", async () => {
    const again = await admin(adminUrl, 'POST', `/v1/orgs/a1/token-requests/${pending.id}/deny`, {});
    expect(again.status).toBe(409);
    await org('a2', ['alice']);
    const elsewhere = await admin(adminUrl, 'POST', `/v1/orgs/a2/token-requests/${pending.id}/approve`, {});
    expect(elsewhere.status).toBe(404);
    expect((await admin(adminUrl, 'POST', '/v1/orgs/a1/token-requests/tok_nope/approve', {})).status).toBe(
      404,
    );
  });

  it('requiring approval later leaves tokens already active alone', async () => {
    await org('a3', ['alice']);
    const t = await createToken(adminUrl, fine('a3', 'alice'));
    await ok('PUT', '/v1/orgs/a3/policy', { require_approval: true });
    expect((await call(gw, 'GET', issues('a3'), { token: t.token })).status).toBe(200);
  });
});

describe("the org's view of the tokens that reach it", () => {
  it("lists active, pending and members' classic tokens; not revoked, other orgs' or outsiders'", async () => {
    await org('r1', ['alice', 'bob']);
    await org('r2', ['alice']);
    const active = await createToken(adminUrl, fine('r1', 'alice'));
    const revoked = await createToken(adminUrl, fine('r1', 'bob'));
    await ok('DELETE', `/v1/tokens/${revoked.id}`);
    const other = await createToken(adminUrl, fine('r2', 'alice'));
    const classic = await createToken(adminUrl, { kind: 'classic', user: 'bob', scopes: ['read'] });
    const outsider = await createToken(adminUrl, { kind: 'classic', user: 'zed', scopes: ['read'] });
    await ok('PUT', '/v1/orgs/r1/policy', { require_approval: true });
    const pending = (await ok('POST', '/v1/tokens', fine('r1', 'bob'))) as unknown as CreatedToken;

    const { tokens } = (await ok('GET', '/v1/orgs/r1/tokens')) as {
      tokens: { id: string; token?: string }[];
    };
    const ids = tokens.map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining([active.id, classic.id, pending.id]));
    for (const absent of [revoked.id, other.id, outsider.id]) expect(ids).not.toContain(absent);
    expect(JSON.stringify(tokens)).not.toContain(active.token);

    // Blocking classic tokens takes them out of the list, as out of reach.
    await ok('PUT', '/v1/orgs/r1/policy', { classic_tokens: 'blocked' });
    const after = (await ok('GET', '/v1/orgs/r1/tokens')) as { tokens: { id: string }[] };
    expect(after.tokens.map((t) => t.id)).not.toContain(classic.id);
  });

  it('cuts one off: 401 revoked at once; classic tokens are refused by policy instead (422)', async () => {
    await org('r3', ['alice']);
    const t = await createToken(adminUrl, fine('r3', 'alice'));
    expect((await call(gw, 'GET', issues('r3'), { token: t.token })).status).toBe(200);
    expect(await ok('DELETE', `/v1/orgs/r3/tokens/${t.id}`, { reason: 'offboarding' })).toMatchObject({
      status: 'revoked',
    });
    const refused = await call(gw, 'GET', issues('r3'), { token: t.token });
    expect(refused.status).toBe(401);
    expect(refused.json().detail).toMatch(/revoked by organization r3: offboarding/);

    const classic = await createToken(adminUrl, { kind: 'classic', user: 'alice', scopes: ['read'] });
    const answer = await admin(adminUrl, 'DELETE', `/v1/orgs/r3/tokens/${classic.id}`);
    expect(answer.status).toBe(422);
    expect(answer.body.detail).toMatch(/classic_tokens/);
    // Another org's token is not this org's to cut: unknown here.
    await org('r4', ['alice']);
    const foreign = await createToken(adminUrl, fine('r4', 'alice'));
    expect((await admin(adminUrl, 'DELETE', `/v1/orgs/r3/tokens/${foreign.id}`)).status).toBe(404);
    expect((await call(gw, 'GET', issues('r4'), { token: foreign.token })).status).toBe(200);
  });
});
