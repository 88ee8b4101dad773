import { type Context, Hono } from 'hono';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../grants/owner.js';
import type { TokenRecord } from '../grants/token-record.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditActor, AuditLog, NewAuditEvent } from '../store/audit-log.js';
import { StoreConflictError, StoreUnavailableError } from '../store/errors.js';
import type { GrantStore } from '../store/grant-store.js';
import { isTokenId } from '../tokens/format.js';
import { identifyActor } from './actor.js';
import {
  HttpProblem,
  invalid,
  notFound,
  parseInput,
  problemJson,
  readJson,
  readOptionalJson,
} from './http.js';
import { auditQuery, decisionInput, memberInput, policyInput } from './org-input.js';
import { createTokenInput, listTokensQuery, loginSchema, regenerateTokenInput } from './token-input.js';
import { InputError, type TokenService } from './token-service.js';
import { auditView, policyView, tokenView } from './views.js';

export interface AdminAppOptions {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly tokens: TokenService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The site admin credential; undefined: only org admins (with their own tokens) can call. */
  readonly adminToken: string | undefined;
  readonly now?: () => number;
}

type AdminEnv = { Variables: { actor: AuditActor } };

const ORG_PATH = /^\/v1\/orgs\/([^/]+)(?:\/|$)/;

function login(value: string, field: string): string {
  const result = loginSchema.safeParse(value);
  if (!result.success) throw invalid(field, 'expected a login: letters, digits and single hyphens');
  return result.data.toLowerCase();
}

function tokenIdParam(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!isTokenId(id)) throw notFound(`token ${JSON.stringify(id)}`);
  return id;
}

function siteAdminOnly(actor: AuditActor): void {
  if (actor.kind !== 'site_admin') {
    throw new HttpProblem(403, 'forbidden', 'Forbidden', 'this call needs the site admin credential');
  }
}

/** The admin API: JSON over HTTP on the admin listener. */
export function createAdminApp(options: AdminAppOptions): Hono<AdminEnv> {
  const { store, audit, tokens, metrics, logger, adminToken } = options;
  const now = options.now ?? Date.now;
  const app = new Hono<AdminEnv>();

  const record = async (c: Context<AdminEnv>, event: Omit<NewAuditEvent, 'actor'>): Promise<void> => {
    const actor = c.get('actor');
    await audit.append({ ...event, actor });
    logger.info(
      {
        audit: event.action,
        actor: actor.kind === 'site_admin' ? 'site_admin' : actor.user,
        org: event.org,
        token_id: event.tokenId,
        user: event.user,
      },
      'admin action',
    );
  };

  app.onError((error, c) => {
    if (error instanceof HttpProblem) return problemJson(c, error);
    if (error instanceof InputError) return problemJson(c, invalid(error.field, error.message, error.status));
    if (error instanceof StoreUnavailableError) {
      c.header('retry-after', '1');
      return problemJson(
        c,
        new HttpProblem(503, 'store_unavailable', 'Store unavailable', 'the store cannot be reached'),
      );
    }
    if (error instanceof StoreConflictError) {
      return problemJson(
        c,
        new HttpProblem(409, 'conflict', 'Conflict', 'a conflicting write happened; retry'),
      );
    }
    logger.error({ err: error }, 'admin API error');
    return problemJson(c, new HttpProblem(500, 'internal', 'Internal error', 'the request failed'));
  });
  app.notFound((c) => problemJson(c, notFound('such endpoint')));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await store.ping();
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'store unreachable' }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    const text = await metrics.registry.metrics();
    return c.text(text, 200, { 'content-type': metrics.registry.contentType });
  });

  app.use('/v1/*', async (c, next) => {
    const match = /^Bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const orgMatch = ORG_PATH.exec(c.req.path);
    const org = orgMatch?.[1] === undefined ? null : orgMatch[1].toLowerCase();
    const level = c.req.method === 'GET' || c.req.method === 'HEAD' ? 'read' : 'write';
    const result = await identifyActor(store, adminToken, match?.[1], org, level, now());
    if (!result.ok) {
      if (result.status === 401) c.header('www-authenticate', 'Bearer realm="patgate-admin"');
      const title = result.status === 401 ? 'Unauthorized' : 'Forbidden';
      throw new HttpProblem(
        result.status,
        result.status === 401 ? 'unauthorized' : 'forbidden',
        title,
        result.detail,
      );
    }
    c.set('actor', result.actor);
    await next();
  });

  // --- tokens (site admin) ---

  app.post('/v1/tokens', async (c) => {
    siteAdminOnly(c.get('actor'));
    const input = parseInput(createTokenInput, await readJson(c));
    const created = await tokens.create(input);
    const r = created.record;
    await record(c, {
      action: 'token.create',
      org: r.kind === 'fine_grained' ? r.resourceOwner : null,
      tokenId: r.id,
      user: r.user,
      reason: null,
      details: { kind: r.kind, status: r.status, expires_at: r.expiresAt },
    });
    return c.json({ ...tokenView(r), token: created.token }, 201, { 'cache-control': 'no-store' });
  });

  app.get('/v1/tokens', async (c) => {
    siteAdminOnly(c.get('actor'));
    const filter = parseInput(listTokensQuery, c.req.query());
    const list = await store.listTokens({
      ...(filter.user === undefined ? {} : { user: filter.user.toLowerCase() }),
      ...(filter.resource_owner === undefined ? {} : { resourceOwner: filter.resource_owner.toLowerCase() }),
      ...(filter.status === undefined ? {} : { status: filter.status }),
    });
    return c.json({ tokens: list.map((t) => tokenView(t)) });
  });

  app.get('/v1/tokens/:id', async (c) => {
    siteAdminOnly(c.get('actor'));
    const id = tokenIdParam(c);
    const found = await store.getToken(id);
    if (found === null) throw notFound(`token ${id}`);
    return c.json(tokenView(found, await store.getLastUsed(id)));
  });

  app.delete('/v1/tokens/:id', async (c) => {
    siteAdminOnly(c.get('actor'));
    const id = tokenIdParam(c);
    const revoked = await store.setTokenStatus(id, 'revoked', 'revoked by a site admin');
    if (revoked === null) throw notFound(`token ${id}`);
    await record(c, { action: 'token.revoke', ...about(revoked), reason: null, details: {} });
    return c.json(tokenView(revoked));
  });

  app.post('/v1/tokens/:id/regenerate', async (c) => {
    siteAdminOnly(c.get('actor'));
    const id = tokenIdParam(c);
    const input = parseInput(regenerateTokenInput, await readOptionalJson(c));
    const created = await tokens.regenerate(id, input);
    if (created === null) throw notFound(`token ${id}`);
    await record(c, {
      action: 'token.regenerate',
      ...about(created.record),
      reason: null,
      details: { expires_at: created.record.expiresAt },
    });
    return c.json({ ...tokenView(created.record), token: created.token }, 200, {
      'cache-control': 'no-store',
    });
  });

  app.get('/v1/audit', async (c) => {
    siteAdminOnly(c.get('actor'));
    const q = parseInput(auditQuery, c.req.query());
    const events = await audit.list({
      ...(q.org === undefined ? {} : { org: q.org.toLowerCase() }),
      ...(q.token === undefined ? {} : { tokenId: q.token }),
      ...(q.user === undefined ? {} : { user: q.user.toLowerCase() }),
      limit: q.limit,
    });
    return c.json({ events: events.map(auditView) });
  });

  // --- organizations (site admin, or an admin of that org with their own token) ---

  const orgOf = (c: Context): string => login(c.req.param('org') ?? '', 'org');

  app.get('/v1/orgs/:org/policy', async (c) => {
    const org = orgOf(c);
    const policy = await store.getOrgPolicy(org);
    return c.json({ org, registered: policy !== null, ...policyView(policy ?? DEFAULT_ORG_POLICY) });
  });

  app.put('/v1/orgs/:org/policy', async (c) => {
    const org = orgOf(c);
    const input = parseInput(policyInput, await readJson(c));
    const current = (await store.getOrgPolicy(org)) ?? DEFAULT_ORG_POLICY;
    // Fields left out keep their current value.
    const next: OrgPolicy = {
      requireApproval: input.require_approval ?? current.requireApproval,
      maxLifetimeDays:
        input.max_lifetime_days === undefined ? current.maxLifetimeDays : input.max_lifetime_days,
      classicTokens: input.classic_tokens ?? current.classicTokens,
      fineGrainedTokens: input.fine_grained_tokens ?? current.fineGrainedTokens,
    };
    await store.setOrgPolicy(org, next);
    await record(c, {
      action: 'org.policy.update',
      org,
      tokenId: null,
      user: null,
      reason: null,
      details: policyView(next),
    });
    return c.json({ org, registered: true, ...policyView(next) });
  });

  app.get('/v1/orgs/:org/members', async (c) => {
    const org = orgOf(c);
    const members = await store.getMembers(org);
    return c.json({
      org,
      members: [...members].sort(([a], [b]) => a.localeCompare(b)).map(([user, role]) => ({ user, role })),
    });
  });

  app.put('/v1/orgs/:org/members/:user', async (c) => {
    const org = orgOf(c);
    const user = login(c.req.param('user'), 'user');
    const { role } = parseInput(memberInput, await readJson(c));
    await store.setMember(org, user, role);
    await record(c, { action: 'org.member.set', org, tokenId: null, user, reason: null, details: { role } });
    return c.json({ org, user, role });
  });

  app.delete('/v1/orgs/:org/members/:user', async (c) => {
    const org = orgOf(c);
    const user = login(c.req.param('user'), 'user');
    const removed = await store.removeMember(org, user);
    if (!removed) throw notFound(`member ${user} in organization ${org}`);
    await record(c, { action: 'org.member.remove', org, tokenId: null, user, reason: null, details: {} });
    return c.body(null, 204);
  });

  app.get('/v1/orgs/:org/token-requests', async (c) => {
    const org = orgOf(c);
    const pending = await store.listTokens({ resourceOwner: org, status: 'pending' });
    return c.json({ org, requests: pending.map((t) => tokenView(t)) });
  });

  const decideRequest = (verdict: 'approve' | 'deny') => async (c: Context<AdminEnv>) => {
    const org = orgOf(c);
    const id = tokenIdParam(c);
    const { reason } = parseInput(decisionInput, await readOptionalJson(c));
    const found = await store.getToken(id);
    if (found === null || found.kind !== 'fine_grained' || found.resourceOwner !== org) {
      throw notFound(`token request ${id} for organization ${org}`);
    }
    if (found.status !== 'pending') {
      throw new HttpProblem(409, 'not_pending', 'Not pending', `token ${id} is ${found.status}, not pending`);
    }
    const updated = await store.setTokenStatus(id, verdict === 'approve' ? 'active' : 'denied', reason);
    if (updated === null) throw notFound(`token ${id}`);
    await record(c, {
      action: verdict === 'approve' ? 'token.approve' : 'token.deny',
      org,
      tokenId: id,
      user: found.user,
      reason: reason ?? null,
      details: {},
    });
    return c.json(tokenView(updated));
  };
  app.post('/v1/orgs/:org/token-requests/:id/approve', decideRequest('approve'));
  app.post('/v1/orgs/:org/token-requests/:id/deny', decideRequest('deny'));

  app.get('/v1/orgs/:org/tokens', async (c) => {
    const org = orgOf(c);
    const members = await store.getMembers(org);
    const fineGrained = await store.listTokens({ resourceOwner: org });
    const classic: TokenRecord[] = [];
    for (const user of members.keys()) {
      for (const t of await store.listTokens({ user })) {
        if (t.kind === 'classic' && t.status === 'active') classic.push(t);
      }
    }
    const reaching = [
      ...fineGrained.filter((t) => t.status === 'active' || t.status === 'pending'),
      ...classic,
    ];
    return c.json({ org, tokens: reaching.map((t) => tokenView(t)) });
  });

  app.delete('/v1/orgs/:org/tokens/:id', async (c) => {
    const org = orgOf(c);
    const id = tokenIdParam(c);
    const found = await store.getToken(id);
    if (found === null) throw notFound(`token ${id} for organization ${org}`);
    if (found.kind === 'classic') {
      throw new HttpProblem(
        422,
        'classic_token',
        'Classic tokens are not owned by the organization',
        'cut classic tokens off with the policy "classic_tokens": "blocked" or by removing the member',
      );
    }
    if (found.resourceOwner !== org) throw notFound(`token ${id} for organization ${org}`);
    const revoked = await store.setTokenStatus(id, 'revoked', `revoked by organization ${org}`);
    if (revoked === null) throw notFound(`token ${id}`);
    await record(c, {
      action: 'token.revoke',
      org,
      tokenId: id,
      user: found.user,
      reason: null,
      details: {},
    });
    return c.json(tokenView(revoked));
  });

  return app;
}

function about(r: TokenRecord): { org: string | null; tokenId: string; user: string } {
  return { org: r.kind === 'fine_grained' ? r.resourceOwner : null, tokenId: r.id, user: r.user };
}
