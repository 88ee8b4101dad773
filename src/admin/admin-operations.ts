import { z } from 'zod';
import {
  auditQuery,
  decisionInput,
  memberInput,
  orgAuditQuery,
  orgTokensQuery,
  policyInput,
  reasonInput,
} from './org-input.js';
import { createTokenInput, listTokensQuery, loginSchema, regenerateTokenInput } from './token-input.js';
import { WEBHOOK_OPERATIONS } from './webhook-operations.js';

/**
 * Who may call an operation: nobody needs to authenticate, the site admin only, the site
 * admin or an admin of the org in the path (with their own token), or a person with one of
 * their own tokens.
 */
export type Caller = 'anyone' | 'site' | 'org' | 'user';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/** One admin API call, described by the schemas its handler validates with. */
export interface AdminOperation {
  readonly method: HttpMethod;
  /** In Hono's syntax, exactly as registered: `/v1/orgs/:org/members/:user`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly caller: Caller;
  /** Path parameters whose schema differs from the usual one of their name (`PATH_PARAMETERS`). */
  readonly params?: Readonly<Record<string, z.ZodType>>;
  readonly query?: z.ZodObject;
  /** A JSON body; `required: false` when an absent body means `{}`. */
  readonly body?: { readonly schema: z.ZodType; readonly required: boolean };
  /** Success statuses and what they mean. */
  readonly responses: Readonly<Record<number, string>>;
  /** Refusals beyond those every call of its caller kind can get (400, 401, 403, 404, ...). */
  readonly refusals?: Readonly<Record<number, string>>;
  /** Only registered when the admin app has this option. */
  readonly when?: string;
}

/** A path parameter's name → the schema its handler checks it with (`params.ts`). */
export const PATH_PARAMETERS: Readonly<Record<string, z.ZodType>> = {
  org: loginSchema.meta({ description: 'organization login (compared case-insensitively)' }),
  user: loginSchema.meta({ description: 'user login (compared case-insensitively)' }),
  id: z
    .string()
    .regex(/^tok_[0-9a-hjkmnp-tv-z]{20}$/)
    .meta({ description: 'token id' }),
};

const optionalReason = { schema: reasonInput, required: false } as const;

/**
 * Every call of the admin API. `openapi.ts` builds the document from this table, and
 * `test/integration/admin-openapi.test.ts` fails when a route registered on the app is
 * missing here (or the other way round).
 */
export const ADMIN_OPERATIONS: readonly AdminOperation[] = [
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    caller: 'anyone',
    responses: { 200: 'the OpenAPI 3.1 document of the admin API', 304: 'not modified (If-None-Match)' },
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    caller: 'anyone',
    responses: { 200: 'the process runs' },
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the store answers',
    caller: 'anyone',
    responses: { 200: 'ready', 503: 'the store is unreachable, or the instance is draining' },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics, every one `patgate_*`',
    caller: 'anyone',
    responses: { 200: 'Prometheus text exposition format' },
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: "The identity assertion's public keys",
    caller: 'anyone',
    responses: { 200: 'a JWK set: the signing key first, then previous keys' },
    when: 'jwks (identity_assertion configured)',
  },
  {
    method: 'post',
    path: '/v1/admin/reload',
    summary: 'Reload the config file, as SIGHUP does',
    description:
      'Reads the config file again and swaps in its route map and feature catalogue. Answers what changed, by route pattern, and which changed keys need a restart (compared with what is running). A file that does not load is refused with 422 and its errors; the current map stays.',
    caller: 'site',
    responses: { 200: 'the new map is in effect: `{routes: {added, removed, changed}, restart_required}`' },
    refusals: {
      422: 'the file does not load (`errors` lists why); the current map stays',
      503: "with `workers: N`, the workers did not all end the same way (one refused what another applied, or exited, or did not answer): `workers` lists each one's outcome; reload again",
    },
    when: 'reload (a config file to read)',
  },
  {
    method: 'post',
    path: '/v1/tokens',
    summary: 'Create a token',
    description:
      'A fine-grained token for a registered org must fit its policy; with `require_approval` it starts `pending`. The plaintext `token` is in this answer only.',
    caller: 'site',
    body: { schema: createTokenInput, required: true },
    responses: { 201: 'the token, with its plaintext `token`' },
    refusals: { 422: "refused by the org's policy (a blocked kind, a non-member, a lifetime too long)" },
  },
  {
    method: 'get',
    path: '/v1/tokens',
    summary: 'List tokens (never the secret or its hash)',
    caller: 'site',
    query: listTokensQuery,
    responses: { 200: '`{tokens: [...]}`' },
  },
  {
    method: 'get',
    path: '/v1/tokens/:id',
    summary: 'One token, with `last_used_at`',
    caller: 'site',
    responses: { 200: 'the token' },
  },
  {
    method: 'delete',
    path: '/v1/tokens/:id',
    summary: 'Revoke a token (revoking twice changes nothing)',
    caller: 'site',
    body: optionalReason,
    responses: { 200: 'the revoked token' },
  },
  {
    method: 'post',
    path: '/v1/tokens/:id/regenerate',
    summary: 'New secret and expiry, same grants',
    caller: 'site',
    body: { schema: regenerateTokenInput, required: false },
    responses: { 200: 'the token, with its new plaintext `token`' },
    refusals: { 422: "outside the org's policy" },
  },
  {
    method: 'get',
    path: '/v1/orgs/:org/policy',
    summary: "The org's policy",
    caller: 'org',
    responses: { 200: 'the policy, and whether the org is registered' },
  },
  {
    method: 'put',
    path: '/v1/orgs/:org/policy',
    summary: 'Change the fields of the policy it names',
    caller: 'org',
    body: { schema: policyInput, required: true },
    responses: { 200: 'the new policy' },
    refusals: {
      422: '`org_lockout`: no org admin could act afterwards (send `"force": true` to apply anyway)',
    },
  },
  {
    method: 'get',
    path: '/v1/orgs/:org/members',
    summary: "The org's members and their roles",
    caller: 'org',
    responses: { 200: '`{org, members: [{user, role}]}`' },
  },
  {
    method: 'put',
    path: '/v1/orgs/:org/members/:user',
    summary: "Add a member or change a member's role",
    description:
      'The site admin adds a member directly; an org admin adding a non-member creates an invitation (202), valid 7 days.',
    caller: 'org',
    body: { schema: memberInput, required: true },
    responses: { 200: 'the membership', 202: 'an invitation, for the user to accept' },
  },
  {
    method: 'delete',
    path: '/v1/orgs/:org/members/:user',
    summary: 'Remove a member: their tokens stop reaching the org at once',
    caller: 'org',
    body: optionalReason,
    responses: { 204: 'removed' },
  },
  {
    method: 'get',
    path: '/v1/orgs/:org/invitations',
    summary: "The org's open invitations",
    caller: 'org',
    responses: { 200: '`{org, invitations: [...]}`' },
  },
  {
    method: 'delete',
    path: '/v1/orgs/:org/invitations/:user',
    summary: 'Withdraw an invitation',
    caller: 'org',
    body: optionalReason,
    responses: { 204: 'withdrawn' },
  },
  {
    method: 'get',
    path: '/v1/orgs/:org/token-requests',
    summary: "Tokens waiting for this org's approval",
    caller: 'org',
    responses: { 200: '`{org, requests: [...]}`' },
  },
  {
    method: 'post',
    path: '/v1/orgs/:org/token-requests/:id/approve',
    summary: 'Approve a pending token (not one of your own requests)',
    caller: 'org',
    body: { schema: decisionInput, required: false },
    responses: { 200: 'the token, now active' },
    refusals: { 409: 'the token is not pending' },
  },
  {
    method: 'post',
    path: '/v1/orgs/:org/token-requests/:id/deny',
    summary: 'Deny a pending token; its holder sees the reason',
    caller: 'org',
    body: { schema: decisionInput, required: false },
    responses: { 200: 'the token, now denied' },
    refusals: { 409: 'the token is not pending' },
  },
  {
    method: 'get',
    path: '/v1/orgs/:org/tokens',
    summary: 'The tokens that reach the org now, or will once approved',
    caller: 'org',
    query: orgTokensQuery,
    responses: { 200: '`{org, tokens: [...]}`' },
  },
  {
    method: 'delete',
    path: '/v1/orgs/:org/tokens/:id',
    summary: 'Cut a fine-grained token off: revoked everywhere',
    caller: 'org',
    body: optionalReason,
    responses: { 200: 'the revoked token' },
    refusals: { 422: 'a classic token: refuse it by policy or membership instead' },
  },
  {
    method: 'get',
    path: '/v1/audit',
    summary: 'Audit events, newest first',
    caller: 'site',
    query: auditQuery,
    responses: { 200: '`{events: [...]}`' },
  },
  {
    method: 'get',
    path: '/v1/orgs/:org/audit',
    summary: "The org's audit events, newest first",
    caller: 'org',
    query: orgAuditQuery,
    responses: { 200: '`{org, events: [...]}`' },
  },
  ...WEBHOOK_OPERATIONS,
  {
    method: 'get',
    path: '/v1/user/invitations',
    summary: "The caller's own open invitations",
    caller: 'user',
    responses: { 200: '`{user, invitations: [...]}`' },
  },
  {
    method: 'post',
    path: '/v1/user/invitations/:org/accept',
    summary: 'Accept an invitation',
    caller: 'user',
    responses: { 200: 'the membership' },
  },
];
