import type { AdminApp, AdminDeps } from './context.js';
import { notFound } from './http.js';
import { loginParam, requireUser } from './params.js';
import { invitationView } from './views.js';

/**
 * `/v1/user/...`: what a person does for themselves, authenticated with one of
 * their own tokens (`authenticate` sets a `user` actor here and nowhere else).
 * Every call acts on the token's user only: no path or body names another.
 */
export function registerUserRoutes(app: AdminApp, deps: AdminDeps): void {
  const { store, audit, now } = deps;

  app.get('/v1/user/invitations', async (c) => {
    const { user } = requireUser(c.get('actor'));
    const invitations = await store.listInvitations({ user });
    return c.json({ user, invitations: invitations.map(invitationView) });
  });

  app.post('/v1/user/invitations/:org/accept', async (c) => {
    const actor = requireUser(c.get('actor'));
    const org = loginParam(c, 'org');
    const role = await store.acceptInvitation(org, actor.user, now());
    if (role === null) throw notFound(`open invitation of ${actor.user} to organization ${org}`);
    await audit.record(actor, {
      action: 'org.member.accept',
      org,
      tokenId: null,
      user: actor.user,
      reason: null,
      details: { role },
    });
    return c.json({ org, user: actor.user, role });
  });
}
