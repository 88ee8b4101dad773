import type { AdminApp, AdminDeps } from '../admin/context.js';
import { invalid, notFound, parseInput, readJson, readOptionalJson } from '../admin/http.js';
import { reasonInput } from '../admin/org-input.js';
import { requireUser, tokenIdParam } from '../admin/params.js';
import { createTokenInput, listTokensQuery, regenerateTokenInput } from '../admin/token-input.js';
import { subjectOf } from '../admin/token-routes.js';
import { tokenView } from '../admin/views.js';
import type { TokenRecord } from '../grants/token-record.js';

const NO_STORE = { 'cache-control': 'no-store' };

/** The self-service listing's filters: the admin listing's, less `user` (always the caller). */
const ownTokensQuery = listTokensQuery.omit({ user: true });

/**
 * `/v1/user/tokens...` on the console listener: a signed-in person's own tokens.
 * Issuance goes through the same `TokenService` as the site admin's (catalogue,
 * lifetime, org policy: blocked kinds, membership, maximum lifetime, approval);
 * the token's user is always the caller, and another person's token id is
 * answered exactly as an unknown one (404), so ids do not leak who holds what.
 */
export function registerUserTokenRoutes(app: AdminApp, deps: AdminDeps): void {
  const { store, audit, tokens } = deps;

  /** The caller's token `id`, or 404. */
  async function ownToken(user: string, id: string): Promise<TokenRecord> {
    const found = await store.getToken(id);
    if (found === null || found.user !== user) throw notFound(`token ${id}`);
    return found;
  }

  app.post('/v1/user/tokens', async (c) => {
    const actor = requireUser(c.get('actor'));
    const body = await readJson(c);
    const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
    // The body names no user: a person issues tokens for themselves only.
    if (isObject && Object.hasOwn(body, 'user')) {
      throw invalid('user', 'unknown field user: tokens made here belong to the signed-in person');
    }
    const input = parseInput(createTokenInput, isObject ? { ...body, user: actor.user } : body);
    const { record, token } = await tokens.create(input);
    await audit.record(actor, {
      action: 'token.create',
      ...subjectOf(record),
      reason: null,
      details: { kind: record.kind, name: record.name, status: record.status, expires_at: record.expiresAt },
    });
    return c.json({ ...tokenView(record), token }, 201, NO_STORE);
  });

  app.get('/v1/user/tokens', async (c) => {
    const { user } = requireUser(c.get('actor'));
    const filter = parseInput(ownTokensQuery, c.req.query());
    const list = await store.listTokens({
      user,
      ...(filter.resource_owner === undefined ? {} : { resourceOwner: filter.resource_owner.toLowerCase() }),
      ...(filter.status === undefined ? {} : { status: filter.status }),
    });
    return c.json({ user, tokens: list.map((t) => tokenView(t)) });
  });

  app.get('/v1/user/tokens/:id', async (c) => {
    const { user } = requireUser(c.get('actor'));
    const id = tokenIdParam(c);
    const found = await ownToken(user, id);
    return c.json(tokenView(found, await store.getLastUsed(id)));
  });

  app.delete('/v1/user/tokens/:id', async (c) => {
    const actor = requireUser(c.get('actor'));
    const id = tokenIdParam(c);
    const { reason } = parseInput(reasonInput, await readOptionalJson(c));
    const found = await ownToken(actor.user, id);
    // Revoking twice changes nothing, so it is answered without a second audit event.
    if (found.status === 'revoked') return c.json(tokenView(found));
    const revoked = await store.setTokenStatus(id, 'revoked', reason ?? 'revoked by its holder');
    if (revoked === null) throw notFound(`token ${id}`);
    await audit.record(actor, {
      action: 'token.revoke',
      ...subjectOf(revoked),
      reason: reason ?? null,
      details: { previous_status: found.status },
    });
    return c.json(tokenView(revoked));
  });

  app.post('/v1/user/tokens/:id/regenerate', async (c) => {
    const actor = requireUser(c.get('actor'));
    const id = tokenIdParam(c);
    const input = parseInput(regenerateTokenInput, await readOptionalJson(c));
    await ownToken(actor.user, id);
    const created = await tokens.regenerate(id, input);
    if (created === null) throw notFound(`token ${id}`);
    await audit.record(actor, {
      action: 'token.regenerate',
      ...subjectOf(created.record),
      reason: null,
      details: { expires_at: created.record.expiresAt },
    });
    return c.json({ ...tokenView(created.record), token: created.token }, 200, NO_STORE);
  });
}
