import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, createToken, eventually, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ofType, Receiver, webhooksConfig } from './events-receiver.js';

// Two gateway processes share one Redis: events written by either are delivered by
// whichever instance claims them.
let redis: TestRedis;
let upstream: TestUpstream;
let a: GatewayProcess;
let b: GatewayProcess;
let configText: string;

beforeAll(async () => {
  [redis, upstream] = await Promise.all([startRedisServer(), startTestUpstream()]);
  configText =
    stackConfig({ store: 'redis', keyPrefix: 'evt:', commandTimeoutMs: 2_000 }, upstream.url, redis.url) +
    webhooksConfig();
  [a, b] = await Promise.all([startGateway(configText), startGateway(configText)]);
});

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await Promise.allSettled([upstream?.close(), redis?.stop()]);
});

async function subscribe(
  receiver: Receiver,
  events: string[],
  path = '/v1/webhooks',
  via: GatewayProcess = a,
): Promise<{ id: string; secret: string }> {
  const answer = await admin(via.adminUrl, 'POST', path, { url: receiver.url, events });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body as { id: string; secret: string };
}

async function deliveries(id: string, path = '/v1/webhooks'): Promise<Record<string, unknown>[]> {
  const answer = await admin(b.adminUrl, 'GET', `${path}/${id}/deliveries`);
  expect(answer.status).toBe(200);
  return answer.body.deliveries as Record<string, unknown>[];
}

describe('webhooks: durable, signed, at least once', () => {
  it('delivers a signed token.created that names the token by id and carries no secret', async () => {
    const receiver = await new Receiver().start();
    try {
      const sub = await subscribe(receiver, ['token.created', 'token.revoked']);
      expect(sub.secret).toMatch(/^whsec_/);
      const token = await createToken(a.adminUrl, {
        user: 'alice',
        resource_owner: 'alice',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const got = await receiver.next(ofType('token.created', token.id));
      // Verified as a receiver would, with the standardwebhooks verifier.
      const verified = new Webhook(sub.secret).verify(got.body, got.headers as Record<string, string>) as {
        data: Record<string, unknown>;
      };
      expect(verified.data.token_id).toBe(token.id);
      expect(got.body).not.toContain(token.token);
      expect(got.body).not.toMatch(/pgt_|pgc_/);
      expect(() =>
        new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(
          got.body,
          got.headers as Record<string, string>,
        ),
      ).toThrow();

      await admin(b.adminUrl, 'DELETE', `/v1/tokens/${token.id}`);
      const revoked = await receiver.next(ofType('token.revoked', token.id));
      expect(revoked.headers['webhook-id']).not.toBe(got.headers['webhook-id']);

      await eventually(
        async () =>
          (await deliveries(sub.id)).some((d) => d.status === 'delivered' && d.event === 'token.revoked'),
        5_000,
        'the delivery log to show the revocation delivered',
      );
      const log = await deliveries(sub.id);
      const created = log.find((d) => d.id === got.headers['webhook-id']);
      expect(created).toMatchObject({
        status: 'delivered',
        attempts: 1,
        last_response_code: 200,
        event: 'token.created',
      });
      expect(created?.last_attempt_at).toEqual(expect.any(String));
      // The secret is shown once.
      const listed = await admin(a.adminUrl, 'GET', '/v1/webhooks');
      expect(JSON.stringify(listed.body)).not.toContain(sub.secret);
    } finally {
      await receiver.close();
    }
  });

  it('retries a failing receiver with backoff, then marks failed; redelivery sends it again', async () => {
    const receiver = await new Receiver().start();
    try {
      const sub = await subscribe(receiver, ['token.created']);
      // 500, then a timeout (no answer within timeout_ms), then success.
      receiver.answers = [500, 'hang'];
      const first = await createToken(a.adminUrl, {
        user: 'bob',
        resource_owner: 'bob',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const third = await receiver.nth(3, ofType('token.created', first.id));
      const ids = receiver.requests
        .filter(ofType('token.created', first.id))
        .map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(1);
      const gaps = receiver.requests.filter(ofType('token.created', first.id)).map((r) => r.at);
      // backoff_base_ms 100 with jitter >= 0.75: attempts are spaced, not hammered.
      expect((gaps[1] ?? 0) - (gaps[0] ?? 0)).toBeGreaterThanOrEqual(70);
      expect(third.json().data.token_id).toBe(first.id);
      await eventually(
        async () =>
          (await deliveries(sub.id)).some(
            (d) => d.id === third.headers['webhook-id'] && d.status === 'delivered',
          ),
        5_000,
        'delivered after retries',
      );
      const entry = (await deliveries(sub.id)).find((d) => d.id === third.headers['webhook-id']);
      expect(entry).toMatchObject({ attempts: 3, last_response_code: 200 });

      // A receiver that never recovers: max_attempts (4), then failed.
      receiver.mode = 503;
      const second = await createToken(a.adminUrl, {
        user: 'bob',
        resource_owner: 'bob',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const last = await receiver.nth(4, ofType('token.created', second.id));
      const deliveryId = String(last.headers['webhook-id']);
      await eventually(
        async () => (await deliveries(sub.id)).some((d) => d.id === deliveryId && d.status === 'failed'),
        5_000,
        'marked failed',
      );
      expect((await deliveries(sub.id)).find((d) => d.id === deliveryId)).toMatchObject({
        status: 'failed',
        attempts: 4,
        last_response_code: 503,
        next_attempt_at: null,
      });

      // The receiver comes back; an admin asks for the delivery again.
      receiver.mode = 200;
      const again = await admin(
        a.adminUrl,
        'POST',
        `/v1/webhooks/${sub.id}/deliveries/${deliveryId}/redeliver`,
      );
      expect(again.status).toBe(202);
      const redelivered = await receiver.nth(5, ofType('token.created', second.id));
      expect(redelivered.headers['webhook-id']).toBe(deliveryId);
      await eventually(
        async () => (await deliveries(sub.id)).some((d) => d.id === deliveryId && d.status === 'delivered'),
        5_000,
        'delivered after redelivery',
      );
      expect(
        (await admin(a.adminUrl, 'POST', `/v1/webhooks/${sub.id}/deliveries/msg_1_0/redeliver`)).status,
      ).toBe(404);
    } finally {
      await receiver.close();
    }
  });

  it('an org subscription sees only its org; another scope cannot see it', async () => {
    const site = await new Receiver().start();
    const org = await new Receiver().start();
    try {
      await subscribe(site, ['token.created']);
      const orgSub = await subscribe(org, ['token.created'], '/v1/orgs/acme/webhooks');
      const globex = await createToken(a.adminUrl, {
        user: 'carol',
        resource_owner: 'globex',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const acme = await createToken(a.adminUrl, {
        user: 'carol',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const classic = await admin(a.adminUrl, 'POST', '/v1/tokens', {
        kind: 'classic',
        user: 'carol',
        name: 'c',
        scopes: ['read'],
      });
      const classicId = String(classic.body.id);
      await org.next(ofType('token.created', acme.id));
      await site.next(ofType('token.created', globex.id));
      await site.next(ofType('token.created', classicId));
      // Fan-out is in stream order: by the time acme's is delivered, the others were fanned out.
      const log = await deliveries(orgSub.id, '/v1/orgs/acme/webhooks');
      expect(log.map((d) => d.event)).toEqual(['token.created']);
      expect(org.requests.every((r) => r.json().data.org === 'acme')).toBe(true);
      // Out of scope: the org's subscription is not the site's, nor another org's.
      expect((await admin(a.adminUrl, 'GET', `/v1/webhooks/${orgSub.id}`)).status).toBe(404);
      expect(
        (await admin(a.adminUrl, 'GET', `/v1/orgs/globex/webhooks/${orgSub.id}/deliveries`)).status,
      ).toBe(404);
      const orgList = await admin(a.adminUrl, 'GET', '/v1/orgs/globex/webhooks');
      expect(orgList.body.webhooks).toEqual([]);
    } finally {
      await Promise.all([site.close(), org.close()]);
    }
  });

  it('an instance killed mid-delivery loses nothing: another instance delivers it', async () => {
    const receiver = await new Receiver().start();
    let c: GatewayProcess | undefined;
    try {
      c = await startGateway(configText);
      const sub = await subscribe(receiver, ['token.approved', 'token.created'], '/v1/webhooks', c);
      receiver.answers = ['hang'];
      const token = await createToken(c.adminUrl, {
        user: 'dave',
        resource_owner: 'dave',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const held = await receiver.next(ofType('token.created', token.id));
      const id = String(held.headers['webhook-id']);
      const holders = [a, b, c].filter((g) =>
        g.output.some((l) => l.includes('"webhook attempt"') && l.includes(id)),
      );
      expect(holders).toHaveLength(1);
      const holder = holders[0] as GatewayProcess;
      await holder.stop('SIGKILL');
      const survivor = [a, b, c].find((g) => g !== holder) as GatewayProcess;
      const retried = await receiver.nth(2, ofType('token.created', token.id), 15_000);
      expect(retried.headers['webhook-id']).toBe(id);
      await eventually(
        async () => {
          const log = await admin(survivor.adminUrl, 'GET', `/v1/webhooks/${sub.id}/deliveries`);
          return (log.body.deliveries as Record<string, unknown>[]).some(
            (d) => d.id === id && d.status === 'delivered',
          );
        },
        5_000,
        'the survivor to record the delivery',
      );
      const log = await admin(survivor.adminUrl, 'GET', `/v1/webhooks/${sub.id}/deliveries`);
      expect((log.body.deliveries as Record<string, unknown>[]).find((d) => d.id === id)).toMatchObject({
        attempts: 2,
      });
      // If the killed instance was a or b, the afterAll stop is a no-op for it.
      if (holder === a || holder === b) {
        const restarted = await startGateway(configText);
        if (holder === a) a = restarted;
        else b = restarted;
      }
    } finally {
      await c?.stop();
      await receiver.close();
    }
  });

  it('rotation: both secrets sign until the old one winds down', async () => {
    const receiver = await new Receiver().start();
    try {
      const sub = await subscribe(receiver, ['member.added']);
      const rotated = await admin(a.adminUrl, 'POST', `/v1/webhooks/${sub.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      const next = String(rotated.body.secret);
      expect(next).not.toBe(sub.secret);
      await admin(a.adminUrl, 'PUT', '/v1/orgs/initech/members/erin', { role: 'member' });
      const got = await receiver.next(ofType('member.added'));
      expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
      for (const secret of [sub.secret, next]) {
        expect(() =>
          new Webhook(secret).verify(got.body, got.headers as Record<string, string>),
        ).not.toThrow();
      }
    } finally {
      await receiver.close();
    }
  });

  it('measures change-to-receiver latency (p50/p99)', async () => {
    const receiver = await new Receiver().start();
    try {
      await subscribe(receiver, ['token.created']);
      const samples: number[] = [];
      for (let i = 0; i < 100; i++) {
        const started = Date.now();
        const token = await createToken(a.adminUrl, {
          user: 'lat',
          resource_owner: 'lat',
          repositories: 'all',
          permissions: { issues: 'read' },
        });
        const got = await receiver.next(ofType('token.created', token.id));
        samples.push(got.at - started);
      }
      samples.sort((x, y) => x - y);
      const p50 = samples[49] ?? 0;
      const p99 = samples[98] ?? 0;
      console.log(`webhook latency change->receiver over 100: p50 ${p50} ms, p99 ${p99} ms`);
      expect(p99).toBeLessThan(1_000);
    } finally {
      await receiver.close();
    }
  }, 30_000);
});
