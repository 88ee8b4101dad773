import type { MemberRole } from '../grants/owner.js';
import type { Invitation } from '../store/grant-store.js';
import type { AdminActor, AdminDeps } from './context.js';

/** How long an invitation can be accepted, as GitHub's org invitations. */
export const INVITATION_LIFETIME_DAYS = 7;
const DAY_MS = 86_400_000;

/** Invites `user` to `org` (replacing an earlier invitation of theirs) and audits it. */
export async function inviteMember(
  deps: Pick<AdminDeps, 'store' | 'audit' | 'now'>,
  actor: AdminActor,
  invite: { readonly org: string; readonly user: string; readonly role: MemberRole },
): Promise<Invitation> {
  const now = deps.now();
  const invitation: Invitation = {
    ...invite,
    invitedBy: actor.kind === 'site_admin' ? 'site_admin' : actor.user,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + INVITATION_LIFETIME_DAYS * DAY_MS).toISOString(),
  };
  await deps.store.createInvitation(invitation);
  await deps.audit.record(actor, {
    action: 'org.member.invite',
    org: invite.org,
    tokenId: null,
    user: invite.user,
    reason: null,
    details: { role: invite.role, expires_at: invitation.expiresAt },
  });
  return invitation;
}
