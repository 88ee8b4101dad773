import type { z } from 'zod';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../grants/owner.js';
import { parseWindow } from '../limits/window.js';
import type { AdminApp, AdminDeps } from './context.js';
import { HttpProblem, notFound, parseInput, readJson, readOptionalJson } from './http.js';
import { inviteMember } from './invitations.js';
import { memberInput, policyInput, reasonInput } from './org-input.js';
import { loginParam } from './params.js';
import { policyLockout } from './policy-lockout.js';
import { invitationView, policyView } from './views.js';

/** The allow list and rate limit of the next policy (src/limits/): left out keeps, null or [] removes. */
function limitsPolicy(
  input: z.infer<typeof policyInput>,
  current: OrgPolicy,
): Pick<OrgPolicy, 'ipAllowList' | 'rateLimit'> {
  const list = input.ip_allow_list === undefined ? current.ipAllowList : (input.ip_allow_list ?? undefined);
  const rate =
    input.rate_limit === undefined
      ? current.rateLimit
      : input.rate_limit === null
        ? undefined
        : {
            limit: input.rate_limit.limit,
            windowSeconds: parseWindow(input.rate_limit.window) ?? 3_600,
            per: input.rate_limit.per,
          };
  return {
    ...(list === undefined || list.length === 0 ? {} : { ipAllowList: [...list] }),
    ...(rate === undefined ? {} : { rateLimit: rate }),
  };
}

/** `revoke_unused_after_days` of the next policy: left out keeps, null removes. */
function revokeUnusedPolicy(
  input: z.infer<typeof policyInput>,
  current: OrgPolicy,
): Pick<OrgPolicy, 'revokeUnusedAfterDays'> {
  const days =
    input.revoke_unused_after_days === undefined
      ? current.revokeUnusedAfterDays
      : (input.revoke_unused_after_days ?? undefined);
  return days === undefined ? {} : { revokeUnusedAfterDays: days };
}

/**
 * `/v1/orgs/{org}/policy` and `/members`. The caller is the site admin or an
 * admin of this org (checked by `authenticate` before routing).
 */
export function registerOrgRoutes(app: AdminApp, deps: AdminDeps): void {
  const { store, audit, now } = deps;

  app.get('/v1/orgs/:org/policy', async (c) => {
    const org = loginParam(c, 'org');
    const policy = await store.getOrgPolicy(org);
    return c.json({ org, registered: policy !== null, ...policyView(policy ?? DEFAULT_ORG_POLICY) });
  });

  app.put('/v1/orgs/:org/policy', async (c) => {
    const org = loginParam(c, 'org');
    const input = parseInput(policyInput, await readJson(c));
    const current = (await store.getOrgPolicy(org)) ?? DEFAULT_ORG_POLICY;
    // Fields left out keep their current value.
    const next: OrgPolicy = {
      requireApproval: input.require_approval ?? current.requireApproval,
      maxLifetimeDays:
        input.max_lifetime_days === undefined ? current.maxLifetimeDays : input.max_lifetime_days,
      classicTokens: input.classic_tokens ?? current.classicTokens,
      fineGrainedTokens: input.fine_grained_tokens ?? current.fineGrainedTokens,
      ...limitsPolicy(input, current),
      ...revokeUnusedPolicy(input, current),
    };
    const force = input.force === true;
    if (!force) {
      // Asked of every caller, the site admin too: an org that cannot administer itself
      // is a mistake more often than a wish, and "force" says it is a wish.
      const [tokens, members] = await Promise.all([
        store.listTokens({ resourceOwner: org }),
        store.getMembers(org),
      ]);
      const lockout = policyLockout({ org, tokens, members, current, next, now: now() });
      if (lockout !== null)
        throw new HttpProblem(422, 'org_lockout', 'Policy would lock the org out', lockout);
    }
    await store.setOrgPolicy(org, next);
    await audit.record(c.get('actor'), {
      action: 'org.policy.update',
      org,
      tokenId: null,
      user: null,
      reason: null,
      details: { policy: policyView(next), previous: policyView(current), ...(force ? { force } : {}) },
    });
    return c.json({ org, registered: true, ...policyView(next) });
  });

  app.get('/v1/orgs/:org/members', async (c) => {
    const org = loginParam(c, 'org');
    const members = await store.getMembers(org);
    return c.json({
      org,
      members: [...members].sort(([a], [b]) => a.localeCompare(b)).map(([user, role]) => ({ user, role })),
    });
  });

  // The site admin adds a member directly. An org admin changes the role of a member
  // directly, but can only invite someone who is not one: the person accepts with
  // their own credential, so an org cannot take in (and review the tokens of) a user
  // who never agreed to join it.
  app.put('/v1/orgs/:org/members/:user', async (c) => {
    const org = loginParam(c, 'org');
    const user = loginParam(c, 'user');
    const { role } = parseInput(memberInput, await readJson(c));
    const actor = c.get('actor');
    const previous = (await store.getMembers(org)).get(user) ?? null;
    if (actor.kind !== 'site_admin' && previous === null) {
      const invitation = await inviteMember(deps, actor, { org, user, role });
      return c.json(invitationView(invitation), 202);
    }
    await store.setMember(org, user, role);
    // An open invitation would otherwise set the role again when accepted later.
    await store.deleteInvitation(org, user);
    await audit.record(actor, {
      action: 'org.member.set',
      org,
      tokenId: null,
      user,
      reason: null,
      details: { role, previous_role: previous },
    });
    return c.json({ org, user, role });
  });

  app.delete('/v1/orgs/:org/members/:user', async (c) => {
    const org = loginParam(c, 'org');
    const user = loginParam(c, 'user');
    const { reason } = parseInput(reasonInput, await readOptionalJson(c));
    const removed = await store.removeMember(org, user);
    if (!removed) throw notFound(`member ${user} in organization ${org}`);
    await audit.record(c.get('actor'), {
      action: 'org.member.remove',
      org,
      tokenId: null,
      user,
      reason: reason ?? null,
      details: {},
    });
    return c.body(null, 204);
  });
}
