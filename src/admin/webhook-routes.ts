import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import { newSecret, rotateSecrets } from '../events/signing.js';
import { checkTarget } from '../events/target-guard.js';
import { EVENT_TYPES } from '../store/event-types.js';
import type { Delivery, Subscription, WebhookStore } from '../store/webhook-store.js';
import type { AdminApp, AdminEnv } from './context.js';
import { HttpProblem, notFound, parseInput, readJson } from './http.js';
import { loginParam, requireSiteAdmin } from './params.js';

export interface WebhookRouteDeps {
  readonly webhooks: WebhookStore;
  /** `webhooks.allow_private_targets`: skip the SSRF check of subscription URLs. */
  readonly allowPrivateTargets: boolean;
  readonly now: () => number;
}

const NO_STORE = { 'cache-control': 'no-store' };
const DELIVERIES_LISTED = 100;

export const subscriptionInput = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
    .max(2_000)
    .refine(
      (u) => URL.parse(u)?.username === '' && URL.parse(u)?.password === '',
      'no credentials in the URL',
    ),
  events: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length),
});

export const WEBHOOK_ID = /^wh_[0-9a-z]{20}$/;
export const DELIVERY_ID = /^msg_\d{1,20}_\d{1,20}$/;

/**
 * `/v1/webhooks` (site admin: every event) and `/v1/orgs/{org}/webhooks` (the org's
 * admins, checked by `authenticate`: only that org's events). A subscription of
 * one scope is not found from the other.
 */
export function registerWebhookRoutes(app: AdminApp, deps: WebhookRouteDeps): void {
  const { webhooks, now } = deps;

  const scopes = [
    { base: '/v1/webhooks', scope: (c: Context<AdminEnv>) => siteScope(c) },
    { base: '/v1/orgs/:org/webhooks', scope: (c: Context<AdminEnv>) => loginParam(c, 'org') },
  ];
  for (const { base, scope } of scopes) {
    const owned = async (c: Context<AdminEnv>): Promise<Subscription> => {
      const org = scope(c);
      const id = c.req.param('id') ?? '';
      const sub = WEBHOOK_ID.test(id) ? await webhooks.getSubscription(id) : null;
      if (sub === null || sub.org !== org) throw notFound(`webhook ${JSON.stringify(id)}`);
      return sub;
    };

    app.post(base, async (c) => {
      const org = scope(c);
      const input = parseInput(subscriptionInput, await readJson(c));
      if (!deps.allowPrivateTargets) await refuseBlockedTarget(input.url);
      const secret = newSecret();
      const at = new Date(now()).toISOString();
      const sub: Subscription = {
        id: `wh_${randomId()}`,
        org,
        url: input.url,
        events: [...new Set(input.events)],
        secrets: [{ secret, createdAt: at, expiresAt: null }],
        createdAt: at,
      };
      await webhooks.createSubscription(sub);
      // The secret is shown in this answer only.
      return c.json({ ...subscriptionView(sub), secret }, 201, NO_STORE);
    });

    app.get(base, async (c) => {
      const org = scope(c);
      const subs = await webhooks.listSubscriptions(org);
      return c.json({ webhooks: subs.map(subscriptionView) });
    });

    app.get(`${base}/:id`, async (c) => c.json(subscriptionView(await owned(c))));

    app.delete(`${base}/:id`, async (c) => {
      const sub = await owned(c);
      await webhooks.deleteSubscription(sub.id);
      return c.body(null, 204);
    });

    app.post(`${base}/:id/rotate-secret`, async (c) => {
      const sub = await owned(c);
      const { secrets, secret } = rotateSecrets(sub.secrets, now());
      const updated = await webhooks.setSecrets(sub.id, secrets);
      if (updated === null) throw notFound(`webhook ${sub.id}`);
      return c.json({ ...subscriptionView(updated), secret }, 200, NO_STORE);
    });

    app.get(`${base}/:id/deliveries`, async (c) => {
      const sub = await owned(c);
      const list = await webhooks.listDeliveries(sub.id, DELIVERIES_LISTED);
      return c.json({ webhook: sub.id, deliveries: list.map(deliveryView) });
    });

    app.post(`${base}/:id/deliveries/:delivery/redeliver`, async (c) => {
      const sub = await owned(c);
      const deliveryId = c.req.param('delivery') ?? '';
      const again = DELIVERY_ID.test(deliveryId) ? await webhooks.redeliver(sub.id, deliveryId, now()) : null;
      if (again === null) throw notFound(`delivery ${JSON.stringify(deliveryId)} of webhook ${sub.id}`);
      return c.json(deliveryView(again), 202);
    });
  }
}

function siteScope(c: Context<AdminEnv>): null {
  requireSiteAdmin(c.get('actor'));
  return null;
}

async function refuseBlockedTarget(url: string): Promise<void> {
  try {
    await checkTarget(url);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new HttpProblem(422, 'invalid_input', 'Invalid input', `url: ${detail}`, { field: 'url' });
  }
}

function randomId(): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  return [...randomBytes(20)].map((b) => alphabet[b % 32]).join('');
}

/** Never the secrets: they are shown once, at creation and rotation. */
export function subscriptionView(s: Subscription): Record<string, unknown> {
  return {
    id: s.id,
    org: s.org,
    url: s.url,
    events: s.events,
    created_at: s.createdAt,
    secrets: s.secrets.map((x) => ({ created_at: x.createdAt, expires_at: x.expiresAt })),
  };
}

export function deliveryView(d: Delivery): Record<string, unknown> {
  return {
    id: d.id,
    webhook: d.subscriptionId,
    event: d.eventType,
    status: d.status,
    attempts: d.attempts,
    created_at: d.createdAt,
    last_attempt_at: d.lastAttemptAt,
    last_response_code: d.lastResponseCode,
    last_error: d.lastError,
    next_attempt_at: d.nextAttemptAt,
  };
}
