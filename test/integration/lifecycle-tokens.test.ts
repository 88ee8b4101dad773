import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  type CreatedToken,
  call,
  createToken,
  eventually,
  type Stack,
  startStack,
} from '../helpers/stack.js';

/** Listing with filters, one token with last_used_at, regenerate, expiry visible to holders (Redis store). */
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

type TokenView = Record<string, unknown> & { id: string };

async function list(query: string): Promise<string[]> {
  const answer = await admin(adminUrl, 'GET', `/v1/tokens${query}`);
  expect(answer.status).toBe(200);
  return (answer.body.tokens as TokenView[]).map((t) => t.id);
}

function fine(user: string, owner: string, extra: Record<string, unknown> = {}): Promise<CreatedToken> {
  return createToken(adminUrl, {
    user,
    resource_owner: owner,
    repositories: ['api'],
    permissions: { issues: 'read' },
    ...extra,
  });
}

describe('list', () => {
  it('filters by user, resource owner and status, alone or together', async () => {
    await admin(adminUrl, 'PUT', '/v1/orgs/lf2/members/una', { role: 'member' });
    await admin(adminUrl, 'PUT', '/v1/orgs/lf2/policy', { require_approval: true });
    const a = await fine('una', 'lf1');
    const b = await fine('una', 'lf2');
    const c = await fine('vic', 'lf1');
    const d = await createToken(adminUrl, { kind: 'classic', user: 'una', scopes: ['read'] });
    await admin(adminUrl, 'DELETE', `/v1/tokens/${c.id}`);

    expect(await list('?user=una')).toEqual([a.id, b.id, d.id]);
    expect(await list('?resource_owner=lf1')).toEqual([a.id, c.id]);
    expect(await list('?status=pending')).toEqual([b.id]);
    expect(await list('?resource_owner=lf1&status=revoked')).toEqual([c.id]);
    expect(await list('?user=UNA&resource_owner=LF1')).toEqual([a.id]);
    expect(await list('?user=nobody')).toEqual([]);
  });

  it('never shows a secret or its hash', async () => {
    const t = await fine('wes', 'lf3');
    const answer = await admin(adminUrl, 'GET', '/v1/tokens?user=wes');
    const text = JSON.stringify(answer.body);
    expect(text).not.toContain(t.token);
    expect(Object.keys((answer.body.tokens as TokenView[])[0] ?? {})).not.toContain('token');
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });

  it('answers a bad filter with 400 naming it', async () => {
    const answer = await admin(adminUrl, 'GET', '/v1/tokens?status=alive');
    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe('status');
    expect((await admin(adminUrl, 'GET', '/v1/tokens?colour=red')).body.field).toBe('colour');
  });
});

describe('one token', () => {
  it('shows last_used_at: null until used, then the use, written in batches', async () => {
    const t = await fine('xia', 'lf4');
    expect((await admin(adminUrl, 'GET', `/v1/tokens/${t.id}`)).body.last_used_at).toBeNull();
    const before = Date.now();
    expect((await call(gw, 'GET', '/repos/lf4/api/issues', { token: t.token })).status).toBe(200);
    let seen: unknown = null;
    await eventually(
      async () => {
        seen = (await admin(adminUrl, 'GET', `/v1/tokens/${t.id}`)).body.last_used_at;
        return seen !== null;
      },
      5000,
      'last_used_at to be flushed',
    );
    expect(Date.parse(String(seen))).toBeGreaterThanOrEqual(before - 1000);
  });

  it('answers an unknown or malformed id with 404', async () => {
    expect((await admin(adminUrl, 'GET', '/v1/tokens/tok_aaaaaaaaaaaaaaaaaaaa')).status).toBe(404);
    expect((await admin(adminUrl, 'GET', '/v1/tokens/whatever')).status).toBe(404);
    expect((await admin(adminUrl, 'DELETE', '/v1/tokens/tok_aaaaaaaaaaaaaaaaaaaa')).status).toBe(404);
  });
});

describe('regenerate', () => {
  it('gives a new secret and expiry with the same grants; the old secret is dead at once', async () => {
    const t = await fine('yan', 'lf5', {
      repositories: ['api', 'web'],
      permissions: { issues: 'read', contents: 'read' },
    });
    const first = await call(gw, 'GET', '/repos/lf5/api/issues', { token: t.token });
    expect(first.headers['x-patgate-token-expiration']).toBe(t.expires_at);

    const answer = await admin(adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, { expires_in_days: 7 });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    const renewed = answer.body as unknown as CreatedToken & Record<string, unknown>;
    expect(renewed.id).toBe(t.id);
    expect(renewed.token).not.toBe(t.token);
    expect(renewed).toMatchObject({
      repositories: ['api', 'web'],
      permissions: { issues: 'read', contents: 'read' },
    });
    expect(Date.parse(renewed.expires_at) - Date.now()).toBeLessThan(7 * 86_400_000 + 60_000);

    const old = await call(gw, 'GET', '/repos/lf5/api/issues', { token: t.token });
    expect(old.status).toBe(401);
    const fresh = await call(gw, 'GET', '/repos/lf5/web/issues', { token: renewed.token });
    expect(fresh.status).toBe(200);
    expect(fresh.headers['x-patgate-token-expiration']).toBe(renewed.expires_at);
  });

  it('stays within the org policy: beyond max_lifetime_days is a 422 naming it, and nothing changes', async () => {
    await admin(adminUrl, 'PUT', '/v1/orgs/lf6/members/zoe', { role: 'member' });
    await admin(adminUrl, 'PUT', '/v1/orgs/lf6/policy', { max_lifetime_days: 30 });
    const t = await fine('zoe', 'lf6', { expires_in_days: 10 });
    const refused = await admin(adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, { expires_in_days: 31 });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toMatch(/max_lifetime_days/);
    expect((await call(gw, 'GET', '/repos/lf6/api/issues', { token: t.token })).status).toBe(200);
    // A regenerated token's lifetime counts from the regeneration: the 422 names
    // the latest expiry the policy allows from now.
    expect(refused.body.detail).toMatch(/latest allowed expiry is \d{4}-/);
    const renewed = await admin(adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, { expires_in_days: 29 });
    expect(renewed.status).toBe(200);
    const fresh = await call(gw, 'GET', '/repos/lf6/api/issues', { token: String(renewed.body.token) });
    expect(fresh.status).toBe(200);
  });

  it('refuses a revoked token (422) and an unknown one (404)', async () => {
    const t = await fine('abe', 'lf7');
    await admin(adminUrl, 'DELETE', `/v1/tokens/${t.id}`);
    expect(
      (await admin(adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, { expires_in_days: 5 })).status,
    ).toBe(422);
    expect((await admin(adminUrl, 'POST', '/v1/tokens/tok_aaaaaaaaaaaaaaaaaaaa/regenerate', {})).status).toBe(
      404,
    );
  });
});

describe('revoke', () => {
  it('is idempotent: revoking twice answers the revoked token both times', async () => {
    const t = await fine('bea', 'lf8');
    const first = await admin(adminUrl, 'DELETE', `/v1/tokens/${t.id}`, { reason: 'lost laptop' });
    expect(first.body).toMatchObject({ status: 'revoked', status_reason: 'lost laptop' });
    const second = await admin(adminUrl, 'DELETE', `/v1/tokens/${t.id}`);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'revoked', revoked_at: first.body.revoked_at });
    const refused = await call(gw, 'GET', '/repos/lf8/api/issues', { token: t.token });
    expect(refused.status).toBe(401);
    expect(refused.json().detail).toMatch(/lost laptop/);
  });
});
