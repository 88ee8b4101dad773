import type { TokenRecord } from '../grants/token-record.js';
import type { AdminApp, AdminDeps } from './context.js';
import { notFound, parseInput, readJson, readOptionalJson } from './http.js';
import { withLastUse } from './last-used-filter.js';
import { reasonInput } from './org-input.js';
import { requireSiteAdmin, tokenIdParam } from './params.js';
import { createTokenInput, listTokensQuery, regenerateTokenInput } from './token-input.js';
import { tokenView } from './views.js';

const NO_STORE = { 'cache-control': 'no-store' };

/** `/v1/tokens...`: issuing and managing tokens. Site admin only. */
export function registerTokenRoutes(app: AdminApp, deps: AdminDeps): void {
  const { store, audit, tokens } = deps;

  app.post('/v1/tokens', async (c) => {
    requireSiteAdmin(c.get('actor'));
    const input = parseInput(createTokenInput, await readJson(c));
    const { record, token } = await tokens.create(input);
    await audit.record(c.get('actor'), {
      action: 'token.create',
      ...subjectOf(record),
      reason: null,
      details: { kind: record.kind, name: record.name, status: record.status, expires_at: record.expiresAt },
    });
    return c.json({ ...tokenView(record), token }, 201, NO_STORE);
  });

  app.get('/v1/tokens', async (c) => {
    requireSiteAdmin(c.get('actor'));
    const filter = parseInput(listTokensQuery, c.req.query());
    const list = await store.listTokens({
      ...(filter.user === undefined ? {} : { user: filter.user.toLowerCase() }),
      ...(filter.resource_owner === undefined ? {} : { resourceOwner: filter.resource_owner.toLowerCase() }),
      ...(filter.status === undefined ? {} : { status: filter.status }),
    });
    const used = await withLastUse(store, list, filter);
    return c.json({ tokens: used.map((t) => tokenView(t.record, t.lastUsedAt)) });
  });

  app.get('/v1/tokens/:id', async (c) => {
    requireSiteAdmin(c.get('actor'));
    const id = tokenIdParam(c);
    const found = await store.getToken(id);
    if (found === null) throw notFound(`token ${id}`);
    return c.json(tokenView(found, await store.getLastUsed(id)));
  });

  app.delete('/v1/tokens/:id', async (c) => {
    requireSiteAdmin(c.get('actor'));
    const id = tokenIdParam(c);
    const { reason } = parseInput(reasonInput, await readOptionalJson(c));
    const found = await store.getToken(id);
    if (found === null) throw notFound(`token ${id}`);
    // Revoking twice changes nothing, so it is answered without a second audit event.
    if (found.status === 'revoked') return c.json(tokenView(found));
    const revoked = await store.setTokenStatus(id, 'revoked', reason ?? 'revoked by a site admin');
    if (revoked === null) throw notFound(`token ${id}`);
    await audit.record(c.get('actor'), {
      action: 'token.revoke',
      ...subjectOf(revoked),
      reason: reason ?? null,
      details: { previous_status: found.status },
    });
    return c.json(tokenView(revoked));
  });

  app.post('/v1/tokens/:id/regenerate', async (c) => {
    requireSiteAdmin(c.get('actor'));
    const id = tokenIdParam(c);
    const input = parseInput(regenerateTokenInput, await readOptionalJson(c));
    const created = await tokens.regenerate(id, input);
    if (created === null) throw notFound(`token ${id}`);
    await audit.record(c.get('actor'), {
      action: 'token.regenerate',
      ...subjectOf(created.record),
      reason: null,
      details: { expires_at: created.record.expiresAt, grace_until: created.graceUntil },
    });
    return c.json(
      { ...tokenView(created.record), token: created.token, previous_secret_valid_until: created.graceUntil },
      200,
      NO_STORE,
    );
  });
}

/** Who and what an event about a token concerns; classic tokens belong to no org. */
export function subjectOf(r: TokenRecord): { org: string | null; tokenId: string; user: string } {
  return { org: r.kind === 'fine_grained' ? r.resourceOwner : null, tokenId: r.id, user: r.user };
}
