import type { Context } from 'hono';
import type { AdminApp, AdminDeps, AdminEnv } from './context.js';
import { HttpProblem, notFound, parseInput, readOptionalJson } from './http.js';
import { withLastUse } from './last-used-filter.js';
import { decisionInput, orgTokensQuery, reasonInput } from './org-input.js';
import { type OrgState, orgMaySee, tokensReachingOrg } from './org-reach.js';
import { loginParam, tokenIdParam } from './params.js';
import { tokenView } from './views.js';

/**
 * `/v1/orgs/{org}/token-requests` and `/tokens`: approval, review and cut-off of
 * the tokens that reach an org. The caller is the site admin or an admin of this
 * org (checked by `authenticate` before routing).
 */
export function registerOrgTokenRoutes(app: AdminApp, deps: AdminDeps): void {
  const { store, audit, now } = deps;

  const orgState = async (org: string): Promise<OrgState> => {
    const [policy, members] = await Promise.all([store.getOrgPolicy(org), store.getMembers(org)]);
    return { policy, members };
  };

  app.get('/v1/orgs/:org/token-requests', async (c) => {
    const org = loginParam(c, 'org');
    const [pending, state] = await Promise.all([
      store.listTokens({ resourceOwner: org, status: 'pending' }),
      orgState(org),
    ]);
    const visible = pending.filter((t) => orgMaySee(t, org, state));
    return c.json({ org, requests: visible.map((t) => tokenView(t)) });
  });

  const decideRequest = (verdict: 'approve' | 'deny') =>
    async function decideTokenRequest(c: Context<AdminEnv>) {
      const org = loginParam(c, 'org');
      const id = tokenIdParam(c);
      const { reason } = parseInput(decisionInput, await readOptionalJson(c));
      const [found, state] = await Promise.all([store.getToken(id), orgState(org)]);
      if (found === null || found.kind !== 'fine_grained' || !orgMaySee(found, org, state)) {
        throw notFound(`token request ${id} for organization ${org}`);
      }
      const actor = c.get('actor');
      // Four eyes: approval is someone else's judgement. Withdrawing one's own request is not.
      if (verdict === 'approve' && actor.kind === 'org_admin' && actor.user === found.user) {
        throw new HttpProblem(
          403,
          'own_request',
          'Cannot approve your own request',
          `token ${id} is ${found.user}'s own request: another admin of organization ${org} or the site admin must approve it`,
        );
      }
      if (found.status !== 'pending') {
        throw new HttpProblem(
          409,
          'not_pending',
          'Not pending',
          `token ${id} is ${found.status}, not pending`,
        );
      }
      const updated = await store.setTokenStatus(id, verdict === 'approve' ? 'active' : 'denied', reason);
      if (updated === null) throw notFound(`token ${id}`);
      await audit.record(actor, {
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
    const org = loginParam(c, 'org');
    const filter = parseInput(orgTokensQuery, c.req.query());
    // One listing for both kinds: classic tokens have no owner to filter on.
    const [all, state] = await Promise.all([store.listTokens({}), orgState(org)]);
    const reaching = await withLastUse(store, tokensReachingOrg(all, org, state, now()), filter);
    return c.json({ org, tokens: reaching.map((t) => tokenView(t.record, t.lastUsedAt)) });
  });

  app.delete('/v1/orgs/:org/tokens/:id', async (c) => {
    const org = loginParam(c, 'org');
    const id = tokenIdParam(c);
    const { reason } = parseInput(reasonInput, await readOptionalJson(c));
    const [found, state] = await Promise.all([store.getToken(id), orgState(org)]);
    // A token of a non-member (invited, or removed) is none of the org's business: 404.
    if (found === null || !orgMaySee(found, org, state))
      throw notFound(`token ${id} for organization ${org}`);
    if (found.kind === 'classic') {
      // A classic token also reaches its user's account and other orgs: revoking it
      // is not this org's call. The org refuses it by policy or membership instead.
      throw new HttpProblem(
        422,
        'classic_token',
        'Classic tokens are not owned by the organization',
        'cut classic tokens off with the policy "classic_tokens": "blocked" or by removing the member',
      );
    }
    if (found.status === 'revoked') return c.json(tokenView(found));
    const why = `revoked by organization ${org}${reason === undefined ? '' : `: ${reason}`}`;
    const revoked = await store.setTokenStatus(id, 'revoked', why);
    if (revoked === null) throw notFound(`token ${id}`);
    await audit.record(c.get('actor'), {
      action: 'token.revoke',
      org,
      tokenId: id,
      user: found.user,
      reason: reason ?? null,
      details: { previous_status: found.status },
    });
    return c.json(tokenView(revoked));
  });
}
