import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { admin, createToken, eventually, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ofType, Receiver, webhooksConfig } from './events-receiver.js';

// The memory store: the same API and delivery rules in one process (not durable).
let upstream: TestUpstream;
let open: GatewayProcess;
let guarded: GatewayProcess;
let receiver: Receiver;

beforeAll(async () => {
  [upstream, receiver] = await Promise.all([startTestUpstream(), new Receiver().start()]);
  const base = stackConfig({ store: 'memory' }, upstream.url, undefined);
  [open, guarded] = await Promise.all([
    startGateway(base + webhooksConfig()),
    startGateway(base + webhooksConfig({ allow_private_targets: false })),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([open?.stop(), guarded?.stop(), receiver?.close()]);
  await upstream?.close();
});

describe('webhooks on the memory store', () => {
  it('delivers signed events and retries, in process', async () => {
    const sub = await admin(open.adminUrl, 'POST', '/v1/orgs/acme/webhooks', {
      url: receiver.url,
      events: ['member.added', 'member.removed', 'policy.changed'],
    });
    expect(sub.status).toBe(201);
    receiver.answers = [500];
    await admin(open.adminUrl, 'PUT', '/v1/orgs/acme/members/alice', { role: 'admin' });
    const got = await receiver.nth(2, ofType('member.added'));
    const payload = new Webhook(String(sub.body.secret)).verify(
      got.body,
      got.headers as Record<string, string>,
    ) as {
      data: Record<string, unknown>;
    };
    expect(payload.data).toMatchObject({ org: 'acme', user: 'alice' });
    await admin(open.adminUrl, 'PUT', '/v1/orgs/acme/policy', { require_approval: true });
    await receiver.next(ofType('policy.changed'));
    await admin(open.adminUrl, 'DELETE', '/v1/orgs/acme/members/alice');
    await receiver.next(ofType('member.removed'));
    await eventually(
      async () => {
        const log = await admin(open.adminUrl, 'GET', `/v1/orgs/acme/webhooks/${sub.body.id}/deliveries`);
        const list = log.body.deliveries as Record<string, unknown>[];
        return list.length === 3 && list.every((d) => d.status === 'delivered');
      },
      5_000,
      'three deliveries logged',
    );
    // Another org's events never reach it.
    await createToken(open.adminUrl, {
      user: 'bob',
      resource_owner: 'globex',
      repositories: 'all',
      permissions: { issues: 'read' },
    });
    expect(receiver.requests.every((r) => r.json().data.org === 'acme')).toBe(true);
  });

  it('refuses loopback, private and link-local targets unless allow_private_targets', async () => {
    for (const url of [
      receiver.url,
      'http://localhost:1/x',
      'http://169.254.169.254/latest',
      'http://10.0.0.1/x',
      'http://[::1]:1/x',
    ]) {
      const refused = await admin(guarded.adminUrl, 'POST', '/v1/webhooks', {
        url,
        events: ['token.created'],
      });
      expect(refused.status, url).toBe(422);
      expect(refused.body.field).toBe('url');
    }
    const bad = await admin(guarded.adminUrl, 'POST', '/v1/webhooks', {
      url: 'ftp://example.com/',
      events: ['token.created'],
    });
    expect(bad.status).toBe(400);
    const unknown = await admin(guarded.adminUrl, 'POST', '/v1/webhooks', {
      url: 'https://example.com/',
      events: ['token.exploded'],
    });
    expect(unknown.status).toBe(400);
  });
});
