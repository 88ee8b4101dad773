import type { AdminApp, AdminDeps } from './context.js';
import { notFound, parseInput, readOptionalJson } from './http.js';
import { reasonInput } from './org-input.js';
import { loginParam } from './params.js';
import { invitationView } from './views.js';

/**
 * `/v1/orgs/{org}/invitations`: the org's open invitations, and withdrawing one.
 * The caller is the site admin or an admin of this org (checked by `authenticate`).
 * Invitations are made by `PUT /v1/orgs/{org}/members/{user}` (org-routes.ts).
 */
export function registerInvitationRoutes(app: AdminApp, deps: AdminDeps): void {
  const { store, audit } = deps;

  app.get('/v1/orgs/:org/invitations', async (c) => {
    const org = loginParam(c, 'org');
    const invitations = await store.listInvitations({ org });
    return c.json({ org, invitations: invitations.map(invitationView) });
  });

  app.delete('/v1/orgs/:org/invitations/:user', async (c) => {
    const org = loginParam(c, 'org');
    const user = loginParam(c, 'user');
    const { reason } = parseInput(reasonInput, await readOptionalJson(c));
    if (!(await store.deleteInvitation(org, user))) {
      throw notFound(`invitation of ${user} to organization ${org}`);
    }
    await audit.record(c.get('actor'), {
      action: 'org.member.uninvite',
      org,
      tokenId: null,
      user,
      reason: reason ?? null,
      details: {},
    });
    return c.body(null, 204);
  });
}
