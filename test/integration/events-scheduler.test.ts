import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { ProcessLock } from '../../src/scheduler/fleet-lock.js';
import { FleetScheduler } from '../../src/scheduler/fleet-scheduler.js';
import { RedisAuditLog } from '../../src/store/redis-audit-log.js';
import { RedisGrantStore } from '../../src/store/redis-store.js';
import { eventStreamKey } from '../../src/store/webhook-redis-store.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, eventually, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ofType, Receiver, webhooksConfig } from './events-receiver.js';

// Two real gateways on one Redis, each running the scheduler every 100 ms: expiry events
// are sent once across the fleet. revoke_unused_after_days runs in this process against
// the same Redis with a clock 40 days ahead (no one waits 30 days), and the gateways
// deliver its token.revoked and refuse the token.
const PREFIX = 'sched:';
const DAY = 86_400_000;
let redis: TestRedis;
let upstream: TestUpstream;
let gateways: GatewayProcess[];
let receiver: Receiver;
let client: Redis;
let store: RedisGrantStore;
let audit: RedisAuditLog;

beforeAll(async () => {
  [redis, upstream, receiver] = await Promise.all([
    startRedisServer(),
    startTestUpstream(),
    new Receiver().start(),
  ]);
  const configText =
    stackConfig({ store: 'redis', keyPrefix: PREFIX, commandTimeoutMs: 2_000 }, upstream.url, redis.url) +
    webhooksConfig() +
    'scheduler:\n  interval_ms: 100\n  unused_sweep_interval_ms: 86400000\n';
  gateways = await Promise.all([startGateway(configText), startGateway(configText)]);
  client = new Redis(redis.url);
  store = new RedisGrantStore({
    url: redis.url,
    keyPrefix: PREFIX,
    commandTimeoutMs: 1000,
    eventStream: { key: eventStreamKey(PREFIX), maxLen: 10_000 },
  });
  audit = new RedisAuditLog({
    url: redis.url,
    keyPrefix: PREFIX,
    commandTimeoutMs: 1000,
    maxEvents: 1000,
    eventStream: { key: eventStreamKey(PREFIX), maxLen: 10_000 },
  });
  const sub = await admin(adminUrl(), 'POST', '/v1/webhooks', {
    url: receiver.url,
    events: ['token.expiring', 'token.expired', 'token.revoked'],
  });
  expect(sub.status).toBe(201);
});

afterAll(async () => {
  client?.disconnect();
  await Promise.allSettled([
    store?.close(),
    audit?.close(),
    receiver?.close(),
    ...(gateways ?? []).map((g) => g.stop()),
  ]);
  await Promise.allSettled([upstream?.close(), redis?.stop()]);
});

const adminUrl = (i = 0): string => (gateways[i] as GatewayProcess).adminUrl;

/** The event stream's entries about one token, by type: what every receiver gets, before fan-out. */
async function streamedTypes(tokenId: string): Promise<string[]> {
  const entries = await client.xrange(eventStreamKey(PREFIX), '-', '+');
  return entries
    .map(([, fields]) => JSON.parse(fields[1] ?? 'null') as { type: string; data: { token_id: string } })
    .filter((e) => e.data.token_id === tokenId)
    .map((e) => e.type);
}

describe('expiry events from the fleet-wide scheduler', () => {
  it('sends token.expiring (1 day) and token.expired once each, with two instances running it', async () => {
    const token = await createToken(adminUrl(), {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
      expires_in_days: undefined,
      expires_at: new Date(Date.now() + 2_000).toISOString(),
    });
    const expiring = (await receiver.next(ofType('token.expiring', token.id))).json();
    expect(expiring.data).toMatchObject({
      org: 'acme',
      token_id: token.id,
      user: 'alice',
      actor: { kind: 'system', source: 'scheduler' },
      details: { expires_at: token.expires_at, days_left: 1 },
    });
    const expired = (await receiver.next(ofType('token.expired', token.id))).json();
    expect(expired.data).toMatchObject({ token_id: token.id, details: { expires_at: token.expires_at } });
    // Every notice of the token is settled: nothing can announce it again.
    const left = await client.zrange(`${PREFIX}expiry`, 0, -1);
    expect(left.filter((m) => m.startsWith(`${token.id}:`))).toEqual([]);
    // The 7-day notice was overtaken (the token lived 2 s): settled without an event.
    const types = (await streamedTypes(token.id)).filter((t) => t.startsWith('token.expir'));
    expect(types.sort()).toEqual(['token.expired', 'token.expiring']);
  });

  it('sends no token.expired for a token revoked before its expiry', async () => {
    const token = await createToken(adminUrl(1), {
      user: 'bob',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
      expires_in_days: undefined,
      expires_at: new Date(Date.now() + 1_500).toISOString(),
    });
    expect((await admin(adminUrl(1), 'DELETE', `/v1/tokens/${token.id}`)).status).toBe(200);
    // Once every notice of the token is settled (the last at its expiry), nothing more can come.
    await eventually(
      async () => !(await client.zrange(`${PREFIX}expiry`, 0, -1)).some((m) => m.startsWith(`${token.id}:`)),
      10_000,
      'the notices of a revoked token to be settled',
    );
    const types = await streamedTypes(token.id);
    expect(types).not.toContain('token.expired');
    // A token.expiring may have gone out in the moment before the revocation, never twice.
    expect(types.filter((t) => t === 'token.expiring').length).toBeLessThanOrEqual(1);
  });
});

describe('org policy revoke_unused_after_days', () => {
  it('revokes fine-grained tokens unused that long, by last use or creation, with a reason, audit and event', async () => {
    for (const user of ['carol', 'dave']) {
      await admin(adminUrl(), 'PUT', `/v1/orgs/acme/members/${user}`, { role: 'member' });
    }
    const put = await admin(adminUrl(), 'PUT', '/v1/orgs/acme/policy', { revoke_unused_after_days: 30 });
    expect(put.status).toBe(200);
    expect(put.body.revoke_unused_after_days).toBe(30);
    const body = { resource_owner: 'acme', repositories: 'all', permissions: { contents: 'read' } };
    const idle = await createToken(adminUrl(), { ...body, user: 'carol', expires_in_days: 90 });
    const used = await createToken(adminUrl(), { ...body, user: 'dave', expires_in_days: 90 });
    const elsewhere = await createToken(adminUrl(), {
      ...body,
      user: 'erin',
      resource_owner: 'globex',
      expires_in_days: 90,
    });
    const now = Date.now() + 40 * DAY;
    // dave's token was used 25 days before that "now": within the policy.
    await store.recordLastUsed(new Map([[used.id, new Date(now - 25 * DAY).toISOString()]]));

    const scheduler = new FleetScheduler({
      store,
      audit,
      lock: new ProcessLock(),
      logger: createLogger('silent'),
      intervalMs: 1_000,
      unusedSweepIntervalMs: 1_000,
      now: () => now,
    });
    await scheduler.runOnce();
    await scheduler.close();

    const revoked = await admin(adminUrl(1), 'GET', `/v1/tokens/${idle.id}`);
    expect(revoked.body.status).toBe('revoked');
    expect(revoked.body.status_reason).toBe('unused for 30 days (policy of organization acme)');
    for (const kept of [used, elsewhere]) {
      expect((await admin(adminUrl(1), 'GET', `/v1/tokens/${kept.id}`)).body.status).toBe('active');
    }
    const event = (await receiver.next(ofType('token.revoked', idle.id))).json();
    expect(event.data).toMatchObject({
      org: 'acme',
      user: 'carol',
      actor: { kind: 'system', source: 'scheduler' },
      details: { policy: 'revoke_unused_after_days', revoke_unused_after_days: 30, last_used_at: null },
    });
    expect((await call(gateways[1]?.url ?? '', 'GET', '/repos/acme/api', { token: idle.token })).status).toBe(
      401,
    );
    expect((await call(gateways[1]?.url ?? '', 'GET', '/repos/acme/api', { token: used.token })).status).toBe(
      200,
    );
  });

  it('refuses a bad revoke_unused_after_days naming the field, and null turns it off', async () => {
    const bad = await admin(adminUrl(), 'PUT', '/v1/orgs/acme/policy', { revoke_unused_after_days: 0 });
    expect(bad.status).toBe(400);
    expect(String(bad.body.detail)).toMatch(/^revoke_unused_after_days: /);
    const off = await admin(adminUrl(), 'PUT', '/v1/orgs/acme/policy', { revoke_unused_after_days: null });
    expect(off.body.revoke_unused_after_days).toBe(null);
  });
});

describe('last_used_before / last_used_after on token listings', () => {
  it('filters the org and site lists by last use, and refuses a bad instant naming the parameter', async () => {
    const body = { resource_owner: 'initech', repositories: 'all', permissions: { contents: 'read' } };
    const old = await createToken(adminUrl(), { ...body, user: 'frank' });
    const recent = await createToken(adminUrl(), { ...body, user: 'grace' });
    const never = await createToken(adminUrl(), { ...body, user: 'heidi' });
    await admin(adminUrl(), 'PUT', '/v1/orgs/initech/members/frank', { role: 'member' });
    await admin(adminUrl(), 'PUT', '/v1/orgs/initech/members/grace', { role: 'member' });
    await admin(adminUrl(), 'PUT', '/v1/orgs/initech/members/heidi', { role: 'admin' });
    await store.recordLastUsed(
      new Map([
        [old.id, '2025-01-10T00:00:00.000Z'],
        [recent.id, '2025-03-10T00:00:00.000Z'],
      ]),
    );
    const ids = async (path: string) => {
      const answer = await admin(adminUrl(), 'GET', path);
      expect(answer.status).toBe(200);
      return (answer.body.tokens as { id: string; last_used_at: string | null }[]).map((t) => t.id).sort();
    };
    const mine = [old.id, recent.id, never.id];
    const org = '/v1/orgs/initech/tokens';
    expect(await ids(org)).toEqual([...mine].sort());
    expect(await ids(`${org}?last_used_before=2025-02-01T00:00:00Z`)).toEqual([old.id]);
    expect(await ids(`${org}?last_used_after=2025-02-01T00:00:00Z`)).toEqual([recent.id]);
    expect(
      await ids(`${org}?last_used_after=2025-01-01T00:00:00Z&last_used_before=2025-12-31T00:00:00%2B01:00`),
    ).toEqual([old.id, recent.id].sort());
    const site = await ids('/v1/tokens?resource_owner=initech&last_used_before=2025-02-01T00:00:00Z');
    expect(site).toEqual([old.id]);
    const listed = await admin(adminUrl(), 'GET', `${org}?last_used_after=2025-03-01T00:00:00Z`);
    expect((listed.body.tokens as { last_used_at: string }[])[0]?.last_used_at).toBe(
      '2025-03-10T00:00:00.000Z',
    );

    for (const path of [`${org}?last_used_before=yesterday`, '/v1/tokens?last_used_after=2025-13-01']) {
      const bad = await admin(adminUrl(), 'GET', path);
      expect(bad.status).toBe(400);
      expect(String(bad.body.detail)).toMatch(/^last_used_(before|after): /);
    }
  });
});
