import { z } from 'zod';
import type { AdminOperation, Caller } from './admin-operations.js';
import { DELIVERY_ID, subscriptionInput, WEBHOOK_ID } from './webhook-routes.js';

const params = {
  id: z.string().regex(WEBHOOK_ID).meta({ description: 'webhook id' }),
  delivery: z.string().regex(DELIVERY_ID).meta({ description: 'delivery id' }),
};

/** The webhook calls (`webhook-routes.ts`), once for the site admin and once per org. */
function webhookOperations(base: string, caller: Caller, scope: string): AdminOperation[] {
  const when = 'webhooks';
  return [
    {
      method: 'post',
      path: base,
      summary: `Subscribe a URL to ${scope}`,
      caller,
      body: { schema: subscriptionInput, required: true },
      responses: { 201: 'the subscription, with its signing `secret` (this answer only)' },
      refusals: { 422: 'the URL resolves to a private or local address' },
      when,
    },
    {
      method: 'get',
      path: base,
      summary: 'List subscriptions',
      caller,
      responses: { 200: '`{webhooks: [...]}`' },
      when,
    },
    {
      method: 'get',
      path: `${base}/:id`,
      summary: 'One subscription',
      caller,
      params,
      responses: { 200: 'the subscription' },
      when,
    },
    {
      method: 'delete',
      path: `${base}/:id`,
      summary: 'Delete a subscription',
      caller,
      params,
      responses: { 204: 'deleted' },
      when,
    },
    {
      method: 'post',
      path: `${base}/:id/rotate-secret`,
      summary: 'A new signing secret; the previous one stays valid for a while',
      caller,
      params,
      responses: { 200: 'the subscription, with its new `secret`' },
      when,
    },
    {
      method: 'get',
      path: `${base}/:id/deliveries`,
      summary: 'Recent deliveries and their outcomes',
      caller,
      params,
      responses: { 200: '`{webhook, deliveries: [...]}`' },
      when,
    },
    {
      method: 'post',
      path: `${base}/:id/deliveries/:delivery/redeliver`,
      summary: 'Deliver an event again',
      caller,
      params,
      responses: { 202: 'the new delivery' },
      when,
    },
  ];
}

export const WEBHOOK_OPERATIONS: readonly AdminOperation[] = [
  ...webhookOperations('/v1/webhooks', 'site', 'every event'),
  ...webhookOperations('/v1/orgs/:org/webhooks', 'org', "the org's events"),
];
