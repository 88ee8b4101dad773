import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, type CreatedToken, createToken, type Stack, startStack } from '../helpers/stack.js';

/**
 * Class "Org boundaries": an org admin could add anyone to the org (and so review
 * and cut off their tokens) without the person agreeing, approve their own token
 * request, and set a policy that left no admin able to undo it. Now an org admin
 * invites and the person accepts with their own token; the org sees a user's
 * tokens only once they are a member; approval takes a second person; and a
 * policy that locks every admin out needs "force". Redis store.
 */
let stack: Stack;
let adminUrl: string;

beforeAll(async () => {
  stack = await startStack({ store: 'redis' });
  adminUrl = stack.gateway.adminUrl;
});

afterAll(async () => {
  await stack?.close();
});

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

function as(credential: string) {
  return (method: Method, path: string, body?: unknown) => admin(adminUrl, method, path, body, credential);
}

const site = (method: Method, path: string, body?: unknown) => admin(adminUrl, method, path, body);

async function member(org: string, user: string, role: 'member' | 'admin' = 'member'): Promise<void> {
  expect((await site('PUT', `/v1/orgs/${org}/members/${user}`, { role })).status).toBe(200);
}

function orgAdminToken(org: string, user: string, days = 30): Promise<CreatedToken> {
  return createToken(adminUrl, {
    user,
    resource_owner: org,
    repositories: 'all',
    permissions: { organization_tokens: 'write' },
    expires_in_days: days,
  });
}

/** A token that only identifies its user (classic, no org needed). */
function personalToken(user: string): Promise<CreatedToken> {
  return createToken(adminUrl, { kind: 'classic', user, scopes: ['read'] });
}

async function members(org: string): Promise<string[]> {
  const { body } = await site('GET', `/v1/orgs/${org}/members`);
  return (body.members as { user: string }[]).map((m) => m.user);
}

describe('Org boundaries: an org admin invites, the person accepts', () => {
  it('adding a non-member as an org admin creates an invitation (202); membership waits for acceptance', async () => {
    await member('inv1', 'carol', 'admin');
    const carol = as((await orgAdminToken('inv1', 'carol')).token);
    const invited = await carol('PUT', '/v1/orgs/inv1/members/bob', { role: 'member' });
    expect(invited.status).toBe(202);
    expect(invited.body).toMatchObject({ org: 'inv1', user: 'bob', role: 'member', invited_by: 'carol' });
    const days =
      (Date.parse(String(invited.body.expires_at)) - Date.parse(String(invited.body.created_at))) /
      86_400_000;
    expect(days).toBe(7);
    expect(await members('inv1')).toEqual(['carol']);
    expect((await carol('GET', '/v1/orgs/inv1/invitations')).body).toMatchObject({
      invitations: [{ user: 'bob', role: 'member', invited_by: 'carol' }],
    });

    // The person sees it with a token of their own, and only their own.
    const bobToken = await personalToken('bob');
    const bob = as(bobToken.token);
    const alice = as((await personalToken('alice')).token);
    expect((await bob('GET', '/v1/user/invitations')).body).toMatchObject({
      user: 'bob',
      invitations: [{ org: 'inv1', role: 'member' }],
    });
    expect((await alice('GET', '/v1/user/invitations')).body).toEqual({ user: 'alice', invitations: [] });
    expect((await alice('POST', '/v1/user/invitations/inv1/accept')).status).toBe(404);
    expect(await members('inv1')).toEqual(['carol']);

    const accepted = await bob('POST', '/v1/user/invitations/inv1/accept');
    expect(accepted).toMatchObject({ status: 200, body: { org: 'inv1', user: 'bob', role: 'member' } });
    expect(await members('inv1')).toEqual(['bob', 'carol']);
    expect((await carol('GET', '/v1/orgs/inv1/invitations')).body.invitations).toEqual([]);
    expect((await bob('POST', '/v1/user/invitations/inv1/accept')).status).toBe(404);

    // Both steps are audited: the invitation by carol, the acceptance by bob himself.
    const { events } = (await carol('GET', '/v1/orgs/inv1/audit')).body as {
      events: Record<string, unknown>[];
    };
    expect(events.slice(0, 2)).toMatchObject([
      {
        action: 'org.member.accept',
        actor: { kind: 'user', user: 'bob', token_id: bobToken.id },
        user: 'bob',
        details: { role: 'member' },
      },
      { action: 'org.member.invite', actor: { kind: 'org_admin', user: 'carol' }, user: 'bob' },
    ]);
  });

  it('the site admin still adds directly; an org admin changes the role of an existing member directly', async () => {
    await member('inv2', 'carol', 'admin');
    expect(await members('inv2')).toEqual(['carol']);
    await member('inv2', 'dora');
    const carol = as((await orgAdminToken('inv2', 'carol')).token);
    expect(await carol('PUT', '/v1/orgs/inv2/members/dora', { role: 'admin' })).toMatchObject({
      status: 200,
      body: { org: 'inv2', user: 'dora', role: 'admin' },
    });
    expect((await carol('GET', '/v1/orgs/inv2/invitations')).body.invitations).toEqual([]);

    // A direct add settles an open invitation: accepting it later cannot change the role.
    expect((await carol('PUT', '/v1/orgs/inv2/members/hal', { role: 'admin' })).status).toBe(202);
    await member('inv2', 'hal');
    expect((await carol('GET', '/v1/orgs/inv2/invitations')).body.invitations).toEqual([]);
    const hal = as((await personalToken('hal')).token);
    expect((await hal('POST', '/v1/user/invitations/inv2/accept')).status).toBe(404);
    expect((await site('GET', '/v1/orgs/inv2/members')).body.members).toContainEqual({
      user: 'hal',
      role: 'member',
    });
  });

  it('an org admin withdraws an invitation; it can no longer be accepted', async () => {
    await member('inv3', 'carol', 'admin');
    const carol = as((await orgAdminToken('inv3', 'carol')).token);
    expect((await carol('PUT', '/v1/orgs/inv3/members/ed', { role: 'admin' })).status).toBe(202);
    expect((await carol('DELETE', '/v1/orgs/inv3/invitations/ed', { reason: 'wrong person' })).status).toBe(
      204,
    );
    expect((await carol('DELETE', '/v1/orgs/inv3/invitations/ed')).status).toBe(404);
    const ed = as((await personalToken('ed')).token);
    expect((await ed('POST', '/v1/user/invitations/inv3/accept')).status).toBe(404);
    expect(await members('inv3')).toEqual(['carol']);
    const { events } = (await carol('GET', '/v1/orgs/inv3/audit')).body as {
      events: Record<string, unknown>[];
    };
    expect(events[0]).toMatchObject({ action: 'org.member.uninvite', user: 'ed', reason: 'wrong person' });
  });

  it('user calls take only a live token of the user: not the site credential, not a pending or revoked token', async () => {
    expect((await site('GET', '/v1/user/invitations')).status).toBe(403);
    const revoked = await personalToken('gil');
    expect((await site('DELETE', `/v1/tokens/${revoked.id}`)).status).toBe(200);
    expect((await as(revoked.token)('GET', '/v1/user/invitations')).status).toBe(401);
    expect((await admin(adminUrl, 'GET', '/v1/user/invitations', undefined, 'nope')).status).toBe(401);
    await member('up1', 'gil');
    expect((await site('PUT', '/v1/orgs/up1/policy', { require_approval: true })).status).toBe(200);
    const pending = await createToken(adminUrl, {
      user: 'gil',
      resource_owner: 'up1',
      repositories: 'all',
      permissions: { issues: 'read' },
    });
    expect(pending.status).toBe('pending');
    const refused = await as(pending.token)('GET', '/v1/user/invitations');
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/is pending; use one of your active tokens/);
  });
});

describe("Org boundaries: the org sees a user's tokens only once they are a member", () => {
  it('a removed member who is invited again: their pending request is not listed, decided or revoked by the org', async () => {
    await member('vis1', 'carol', 'admin');
    await member('vis1', 'frank');
    const carol = as((await orgAdminToken('vis1', 'carol')).token);
    expect((await site('PUT', '/v1/orgs/vis1/policy', { require_approval: true })).status).toBe(200);
    const request = await createToken(adminUrl, {
      user: 'frank',
      resource_owner: 'vis1',
      repositories: 'all',
      permissions: { issues: 'read' },
    });
    expect(request.status).toBe('pending');
    const requestIds = async () =>
      ((await carol('GET', '/v1/orgs/vis1/token-requests')).body.requests as { id: string }[]).map(
        (r) => r.id,
      );
    expect(await requestIds()).toContain(request.id);
    expect((await site('DELETE', '/v1/orgs/vis1/members/frank')).status).toBe(204);
    // Removed: no longer the org's business...
    expect(await requestIds()).not.toContain(request.id);
    // ...nor once invited back, until he accepts.
    expect((await carol('PUT', '/v1/orgs/vis1/members/frank', { role: 'member' })).status).toBe(202);
    expect(await requestIds()).not.toContain(request.id);
    expect((await carol('POST', `/v1/orgs/vis1/token-requests/${request.id}/approve`)).status).toBe(404);
    expect((await carol('POST', `/v1/orgs/vis1/token-requests/${request.id}/deny`)).status).toBe(404);
    expect((await carol('DELETE', `/v1/orgs/vis1/tokens/${request.id}`)).status).toBe(404);
    const listed = (await carol('GET', '/v1/orgs/vis1/tokens')).body.tokens as { id: string }[];
    expect(listed.map((t) => t.id)).not.toContain(request.id);
    expect((await site('GET', `/v1/tokens/${request.id}`)).body.status).toBe('pending');

    // Once frank accepts, his request is the org's to decide.
    const frank = as((await personalToken('frank')).token);
    expect((await frank('POST', '/v1/user/invitations/vis1/accept')).status).toBe(200);
    expect(await requestIds()).toContain(request.id);
    expect((await carol('POST', `/v1/orgs/vis1/token-requests/${request.id}/approve`)).status).toBe(200);
  });
});

describe('Org boundaries: four eyes on token requests', () => {
  it('an org admin may not approve their own request; another org admin or the site admin may', async () => {
    await member('fe1', 'carol', 'admin');
    await member('fe1', 'erin', 'admin');
    const carol = as((await orgAdminToken('fe1', 'carol')).token);
    const erin = as((await orgAdminToken('fe1', 'erin')).token);
    expect((await carol('PUT', '/v1/orgs/fe1/policy', { require_approval: true })).status).toBe(200);
    const own = await createToken(adminUrl, {
      user: 'carol',
      resource_owner: 'fe1',
      repositories: 'all',
      permissions: { issues: 'write' },
    });
    const second = await createToken(adminUrl, {
      user: 'carol',
      resource_owner: 'fe1',
      repositories: 'all',
      permissions: { issues: 'read' },
    });

    const refused = await carol('POST', `/v1/orgs/fe1/token-requests/${own.id}/approve`);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      type: 'https://patgate.dev/problems/own_request',
      detail: expect.stringMatching(
        /carol's own request: another admin of organization fe1 or the site admin/,
      ),
    });
    expect((await site('GET', `/v1/tokens/${own.id}`)).body.status).toBe('pending');

    expect((await erin('POST', `/v1/orgs/fe1/token-requests/${own.id}/approve`)).status).toBe(200);
    expect((await site('POST', `/v1/orgs/fe1/token-requests/${second.id}/approve`)).status).toBe(200);
  });

  it('an org admin may still deny (withdraw) their own request', async () => {
    await member('fe2', 'carol', 'admin');
    const carol = as((await orgAdminToken('fe2', 'carol')).token);
    expect((await carol('PUT', '/v1/orgs/fe2/policy', { require_approval: true })).status).toBe(200);
    const own = await createToken(adminUrl, {
      user: 'carol',
      resource_owner: 'fe2',
      repositories: 'all',
      permissions: { issues: 'write' },
    });
    expect((await carol('POST', `/v1/orgs/fe2/token-requests/${own.id}/deny`)).status).toBe(200);
  });
});

describe('Org boundaries: a policy that locks every org admin out needs "force"', () => {
  it('refuses 422 saying why, for the org admin and the site admin alike; "force" applies it', async () => {
    await member('lo1', 'carol', 'admin');
    const carolToken = await orgAdminToken('lo1', 'carol', 30);
    const carol = as(carolToken.token);

    const shorter = await carol('PUT', '/v1/orgs/lo1/policy', { max_lifetime_days: 7 });
    expect(shorter.status).toBe(422);
    expect(shorter.body).toMatchObject({
      type: 'https://patgate.dev/problems/org_lockout',
      detail: expect.stringMatching(
        new RegExp(
          `no admin of organization lo1 able to use the admin API \\(token ${carolToken.id} lives 30 days; organization lo1 allows at most 7 days\\).*"force": true`,
        ),
      ),
    });
    const blocked = await site('PUT', '/v1/orgs/lo1/policy', { fine_grained_tokens: 'blocked' });
    expect(blocked.status).toBe(422);
    expect(blocked.body.detail).toMatch(/organization lo1 blocks fine-grained tokens/);
    expect((await carol('GET', '/v1/orgs/lo1/policy')).body).toMatchObject({
      max_lifetime_days: null,
      fine_grained_tokens: 'allowed',
    });

    // A limit that the admin's token still meets is fine.
    expect((await carol('PUT', '/v1/orgs/lo1/policy', { max_lifetime_days: 30 })).status).toBe(200);

    const forced = await carol('PUT', '/v1/orgs/lo1/policy', { max_lifetime_days: 7, force: true });
    expect(forced).toMatchObject({ status: 200, body: { max_lifetime_days: 7 } });
    expect((await carol('GET', '/v1/orgs/lo1/policy')).status).toBe(403);
    const { events } = (await site('GET', '/v1/orgs/lo1/audit')).body as {
      events: Record<string, unknown>[];
    };
    expect(events[0]).toMatchObject({ action: 'org.policy.update', details: { force: true } });
  });
});
