import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, type CreatedToken, call, createToken, type Stack, startStack } from '../helpers/stack.js';

/**
 * Org admins act on `/v1/orgs/{org}/...` with their own fine-grained token: for
 * that org, user an admin of it, holding `organization_tokens:write` (`:read`
 * for GETs). Everyone else is refused. Redis store.
 */
let stack: Stack;
let adminUrl: string;
let carolWrite: CreatedToken;
let carolRead: CreatedToken;
let aliceWrite: CreatedToken;
let daveWrite: CreatedToken;
let carolClassic: CreatedToken;

beforeAll(async () => {
  stack = await startStack({ store: 'redis' });
  adminUrl = stack.gateway.adminUrl;
  const members: [string, string, string][] = [
    ['acme', 'carol', 'admin'],
    ['acme', 'alice', 'member'],
    ['acme', 'bob', 'member'],
    ['globex', 'dave', 'admin'],
  ];
  for (const [org, user, role] of members) {
    expect((await admin(adminUrl, 'PUT', `/v1/orgs/${org}/members/${user}`, { role })).status).toBe(200);
  }
  const orgToken = (user: string, org: string, level: string) =>
    createToken(adminUrl, {
      user,
      resource_owner: org,
      repositories: 'all',
      permissions: { organization_tokens: level },
    });
  carolWrite = await orgToken('carol', 'acme', 'write');
  carolRead = await orgToken('carol', 'acme', 'read');
  aliceWrite = await orgToken('alice', 'acme', 'write');
  daveWrite = await orgToken('dave', 'globex', 'write');
  carolClassic = await createToken(adminUrl, { kind: 'classic', user: 'carol', scopes: ['admin'] });
});

afterAll(async () => {
  await stack?.close();
});

function as(credential: CreatedToken) {
  return (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
    admin(adminUrl, method, path, body, credential.token);
}

describe('an org admin with their own token', () => {
  it('manages the org: policy, members, requests, decisions, tokens, cut-off, audit', async () => {
    const carol = as(carolWrite);
    expect((await carol('PUT', '/v1/orgs/acme/policy', { require_approval: true })).status).toBe(200);
    expect((await carol('GET', '/v1/orgs/acme/policy')).body).toMatchObject({ require_approval: true });
    // Carol invites erin; erin joins by accepting with a token of her own.
    expect((await carol('PUT', '/v1/orgs/acme/members/erin', { role: 'member' })).status).toBe(202);
    const erinOwn = await createToken(adminUrl, { kind: 'classic', user: 'erin', scopes: ['read'] });
    expect((await as(erinOwn)('POST', '/v1/user/invitations/acme/accept')).status).toBe(200);
    const { members } = (await carol('GET', '/v1/orgs/acme/members')).body as { members: { user: string }[] };
    expect(members.map((m) => m.user)).toEqual(['alice', 'bob', 'carol', 'erin']);

    const first = await createToken(adminUrl, {
      user: 'erin',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read' },
    });
    const second = await createToken(adminUrl, {
      user: 'bob',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read' },
    });
    const requests = (await carol('GET', '/v1/orgs/acme/token-requests')).body as {
      requests: { id: string }[];
    };
    expect(requests.requests.map((r) => r.id)).toEqual([first.id, second.id]);
    expect((await carol('POST', `/v1/orgs/acme/token-requests/${first.id}/approve`)).status).toBe(200);
    expect(
      (await carol('POST', `/v1/orgs/acme/token-requests/${second.id}/deny`, { reason: 'no' })).status,
    ).toBe(200);
    expect(
      (await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: first.token })).status,
    ).toBe(200);

    const listed = (await carol('GET', '/v1/orgs/acme/tokens')).body as { tokens: { id: string }[] };
    expect(listed.tokens.map((t) => t.id)).toContain(first.id);
    expect((await carol('DELETE', `/v1/orgs/acme/tokens/${first.id}`, { reason: 'done' })).status).toBe(200);
    expect(
      (await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: first.token })).status,
    ).toBe(401);
    expect((await carol('DELETE', '/v1/orgs/acme/members/erin')).status).toBe(204);

    // The org's audit names carol and the token she acted with, newest first.
    const audit = (await carol('GET', '/v1/orgs/acme/audit')).body as { events: Record<string, unknown>[] };
    const byCarol = audit.events.filter((e) => (e.actor as { user?: string }).user === 'carol');
    expect(byCarol.map((e) => e.action)).toEqual([
      'org.member.remove',
      'token.revoke',
      'token.deny',
      'token.approve',
      'org.member.invite',
      'org.policy.update',
    ]);
    expect(byCarol[0]?.actor).toEqual({ kind: 'org_admin', user: 'carol', token_id: carolWrite.id });
    expect(byCarol.find((e) => e.action === 'token.revoke')).toMatchObject({
      token_id: first.id,
      user: 'erin',
      reason: 'done',
    });
    expect((await carol('PUT', '/v1/orgs/acme/policy', { require_approval: false })).status).toBe(200);
  });

  it('with :read, may read everything of the org but change nothing', async () => {
    const reader = as(carolRead);
    for (const path of ['policy', 'members', 'token-requests', 'tokens', 'audit']) {
      expect((await reader('GET', `/v1/orgs/acme/${path}`)).status, path).toBe(200);
    }
    const refused = await reader('PUT', '/v1/orgs/acme/policy', { classic_tokens: 'blocked' });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/organization_tokens:write/);
    expect((await reader('PUT', '/v1/orgs/acme/members/zed', { role: 'admin' })).status).toBe(403);
    expect((await as(carolWrite)('GET', '/v1/orgs/acme/policy')).body).toMatchObject({
      classic_tokens: 'allowed',
    });
  });

  it('is refused on another org, and on the site admin calls', async () => {
    const carol = as(carolWrite);
    const elsewhere = await carol('GET', '/v1/orgs/globex/policy');
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers['content-type']).toBe('application/problem+json');
    expect((await carol('PUT', '/v1/orgs/globex/members/carol', { role: 'admin' })).status).toBe(403);
    expect((await carol('GET', '/v1/orgs/ACME/policy')).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens'],
      ['GET', '/v1/audit'],
      ['DELETE', `/v1/tokens/${daveWrite.id}`],
    ] as const) {
      const answer = await carol(method, path, method === 'POST' ? {} : undefined);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.detail).toMatch(/site admin credential/);
    }
  });

  it('refuses an admin of another org acting here', async () => {
    const answer = await as(daveWrite)('GET', '/v1/orgs/acme/tokens');
    expect(answer.status).toBe(403);
  });
});

describe('refused credentials', () => {
  it('a plain member holding organization_tokens:write', async () => {
    const answer = await as(aliceWrite)('GET', '/v1/orgs/acme/policy');
    expect(answer.status).toBe(403);
    expect(answer.body.detail).toMatch(/alice is not an admin of organization acme/);
  });

  it("a classic token, even an org admin's with the admin scope", async () => {
    const answer = await as(carolClassic)('GET', '/v1/orgs/acme/policy');
    expect(answer.status).toBe(403);
    expect(answer.body.detail).toMatch(/fine-grained/);
  });

  it('a revoked org admin token: 401', async () => {
    const t = await createToken(adminUrl, {
      user: 'carol',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { organization_tokens: 'write' },
    });
    expect((await as(t)('GET', '/v1/orgs/acme/policy')).status).toBe(200);
    expect((await admin(adminUrl, 'DELETE', `/v1/tokens/${t.id}`)).status).toBe(200);
    const answer = await as(t)('GET', '/v1/orgs/acme/policy');
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toContain('Bearer');
  });

  it('no credential, or a wrong one: 401', async () => {
    expect((await admin(adminUrl, 'GET', '/v1/orgs/acme/policy', undefined, 'nope')).status).toBe(401);
    const answer = await admin(adminUrl, 'GET', '/v1/orgs/acme/policy', undefined, '');
    expect(answer.status).toBe(401);
  });
});
