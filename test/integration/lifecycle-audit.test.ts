import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway-process.js';
import { admin, type CreatedToken, createToken, type Stack, startStack } from '../helpers/stack.js';

/** Every admin action lands in the audit log, kept in a Redis stream (Redis store). */
let stack: Stack;
let adminUrl: string;

type AuditEvent = {
  id: string;
  at: string;
  action: string;
  actor: { kind: string; user?: string; token_id?: string };
  org: string | null;
  token_id: string | null;
  user: string | null;
  reason: string | null;
  details: Record<string, unknown>;
};

async function audit(query = ''): Promise<AuditEvent[]> {
  const answer = await admin(adminUrl, 'GET', `/v1/audit${query}`);
  expect(answer.status).toBe(200);
  return answer.body.events as AuditEvent[];
}

async function ok(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) {
  const answer = await admin(adminUrl, method, path, body);
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body;
}

let kept: CreatedToken;
let denied: CreatedToken;
let cut: CreatedToken;
let classic: CreatedToken;
let started: number;

beforeAll(async () => {
  stack = await startStack({ store: 'redis', keyPrefix: 'audit-test:' });
  adminUrl = stack.gateway.adminUrl;
  started = Date.now();
  // One of each action, in a known order.
  await ok('PUT', '/v1/orgs/acme/members/alice', { role: 'member' });
  await ok('PUT', '/v1/orgs/acme/members/bob', { role: 'member' });
  await ok('PUT', '/v1/orgs/acme/policy', { require_approval: true });
  kept = (await ok('POST', '/v1/tokens', {
    kind: 'fine_grained',
    user: 'alice',
    name: 'ci',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { issues: 'read' },
    expires_in_days: 30,
  })) as unknown as CreatedToken;
  await ok('POST', `/v1/orgs/acme/token-requests/${kept.id}/approve`, { reason: 'CI for api' });
  denied = (await ok('POST', '/v1/tokens', {
    kind: 'fine_grained',
    user: 'bob',
    name: 'laptop',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { issues: 'write' },
    expires_in_days: 30,
  })) as unknown as CreatedToken;
  await ok('POST', `/v1/orgs/acme/token-requests/${denied.id}/deny`, { reason: 'read-only, please' });
  await ok('POST', `/v1/tokens/${kept.id}/regenerate`, { expires_in_days: 20 });
  await ok('PUT', '/v1/orgs/acme/policy', { require_approval: false });
  cut = await createToken(adminUrl, {
    user: 'bob',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: {},
  });
  await ok('DELETE', `/v1/orgs/acme/tokens/${cut.id}`, { reason: 'offboarding' });
  classic = await createToken(adminUrl, { kind: 'classic', user: 'bob', scopes: ['read'] });
  await ok('DELETE', `/v1/tokens/${classic.id}`, { reason: 'leaked' });
  await ok('DELETE', '/v1/orgs/acme/members/bob', { reason: 'left the company' });
});

afterAll(async () => {
  await stack?.close();
});

describe('audit', () => {
  it('records every admin action, newest first, with actor, target, time and reason', async () => {
    const events = await audit();
    expect(events.map((e) => [e.action, e.token_id ?? e.user])).toEqual([
      ['org.member.remove', 'bob'],
      ['token.revoke', classic.id],
      ['token.create', classic.id],
      ['token.revoke', cut.id],
      ['token.create', cut.id],
      ['org.policy.update', null],
      ['token.regenerate', kept.id],
      ['token.deny', denied.id],
      ['token.create', denied.id],
      ['token.approve', kept.id],
      ['token.create', kept.id],
      ['org.policy.update', null],
      ['org.member.set', 'bob'],
      ['org.member.set', 'alice'],
    ]);
    for (const e of events) {
      expect(e.actor).toEqual({ kind: 'site_admin' });
      expect(Date.parse(e.at)).toBeGreaterThanOrEqual(started - 1000);
      expect(Date.parse(e.at)).toBeLessThanOrEqual(Date.now() + 1000);
    }
    const times = events.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    const reasons = events.filter((e) => e.reason !== null).map((e) => [e.action, e.reason]);
    expect(reasons).toEqual([
      ['org.member.remove', 'left the company'],
      ['token.revoke', 'leaked'],
      ['token.revoke', 'offboarding'],
      ['token.deny', 'read-only, please'],
      ['token.approve', 'CI for api'],
    ]);
    // Details say what changed, and never hold a secret.
    const policy = events.find((e) => e.action === 'org.policy.update');
    expect(policy?.details).toMatchObject({
      policy: { require_approval: false },
      previous: { require_approval: true },
    });
    expect(
      events.find((e) => e.action === 'token.create' && e.token_id === denied.id)?.details,
    ).toMatchObject({
      status: 'pending',
    });
    const text = JSON.stringify(events);
    for (const t of [kept, denied, cut, classic]) expect(text).not.toContain(t.token);
  });

  it('filters by org, token and user', async () => {
    const byToken = await audit(`?token=${kept.id}`);
    expect(byToken.map((e) => e.action)).toEqual(['token.regenerate', 'token.approve', 'token.create']);
    const byUser = await audit('?user=bob');
    expect(byUser.map((e) => e.action)).toEqual([
      'org.member.remove',
      'token.revoke',
      'token.create',
      'token.revoke',
      'token.create',
      'token.deny',
      'token.create',
      'org.member.set',
    ]);
    const byOrg = await audit('?org=ACME');
    // The classic token belongs to no org: its events are not the org's.
    expect(byOrg.map((e) => e.token_id)).not.toContain(classic.id);
    expect(byOrg).toHaveLength(12);
    expect(await audit('?org=acme&user=alice&limit=2')).toHaveLength(2);
    expect(await audit('?org=globex')).toEqual([]);
    expect((await admin(adminUrl, 'GET', '/v1/audit?limit=0')).status).toBe(400);
  });

  it('is kept in a Redis stream under the key prefix, which every instance reads', async () => {
    const redis = stack.redis;
    if (redis === undefined) throw new Error('this suite runs on Redis');
    const client = new Redis(redis.url);
    try {
      expect(await client.type('audit-test:audit')).toBe('stream');
      expect(await client.xlen('audit-test:audit')).toBe(14);
    } finally {
      await client.quit();
    }
    const second = await startGateway(stack.configText);
    try {
      const answer = await admin(second.adminUrl, 'GET', '/v1/audit?limit=1');
      expect((answer.body.events as AuditEvent[])[0]?.action).toBe('org.member.remove');
    } finally {
      await second.stop();
    }
  });
});
