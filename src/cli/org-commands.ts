import { type Command, InvalidArgumentError } from 'commander';
import {
  type AdminClient,
  type AdminCommandOptions,
  formatFields,
  formatTable,
  type Json,
  runAdminCall,
  text,
  withAdminOptions,
} from './admin-client.js';
import { type ListTokenOptions, tokenTable } from './token-commands.js';

type PolicyValue = boolean | number | string | null;

/** `--ip-allow-list 10.0.0.0/8,2001:db8::/32`, or `none`. */
function ipListOption(value: string): string[] | null {
  return value === 'none'
    ? null
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

/** `--rate-limit 5000/1h/user` (window and scope optional), or `none`. */
function rateLimitOption(value: string): Record<string, unknown> | null {
  if (value === 'none') return null;
  const match = /^([1-9][0-9]*)(?:\/([1-9][0-9]*[smhd]))?(?:\/(user|token|org))?$/.exec(value);
  if (match === null)
    throw new InvalidArgumentError('expected points/window/per, e.g. 5000/1h/user, or none');
  return {
    limit: Number(match[1]),
    ...(match[2] === undefined ? {} : { window: match[2] }),
    ...(match[3] === undefined ? {} : { per: match[3] }),
  };
}

/**
 * `--set key=value`: `true`/`false` and whole numbers become JSON booleans and
 * numbers, `null`/`none` clears a limit; the API names an unknown key or a bad value.
 */
function setting(value: string, previous: Record<string, PolicyValue>): Record<string, PolicyValue> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value, e.g. require_approval=true');
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let parsed: PolicyValue = raw;
  if (raw === 'true' || raw === 'false') parsed = raw === 'true';
  else if (raw === 'null' || raw === 'none') parsed = null;
  else if (/^\d+$/.test(raw)) parsed = Number(raw);
  return { ...previous, [key]: parsed };
}

function orgPath(org: string, ...rest: string[]): string {
  return `/v1/orgs/${[org, ...rest].map(encodeURIComponent).join('/')}`;
}

function withReason(reason: string | undefined): Json | undefined {
  return reason === undefined ? undefined : { reason };
}

function describePolicy(p: Json): string {
  return formatFields([
    ['org', `${text(p.org)}${p.registered ? '' : ' (not registered: defaults shown)'}`],
    ['require_approval', text(p.require_approval)],
    ['max_lifetime_days', p.max_lifetime_days === null ? 'none' : text(p.max_lifetime_days)],
    ['classic_tokens', text(p.classic_tokens)],
    ['fine_grained_tokens', text(p.fine_grained_tokens)],
    [
      'revoke_unused_after_days',
      p.revoke_unused_after_days == null ? 'none' : text(p.revoke_unused_after_days),
    ],
  ]);
}

function actorOf(e: Json): string {
  const actor = (e.actor ?? {}) as Json;
  if (actor.kind === 'org_admin') return `${text(actor.user)} (org admin)`;
  if (actor.kind === 'user') return `${text(actor.user)} (user)`;
  if (actor.kind === 'system') return `${text(actor.source)} (system)`;
  return 'site admin';
}

function invitationTable(invitations: readonly Json[]): string {
  return formatTable(
    ['ORG', 'USER', 'ROLE', 'INVITED BY', 'EXPIRES'],
    invitations.map((i) => [
      text(i.org),
      text(i.user),
      text(i.role),
      i.invited_by === 'site_admin' ? 'site admin' : text(i.invited_by),
      text(i.expires_at),
    ]),
  );
}

/**
 * What `members add` did: the site admin adds (200, the membership); an org admin
 * invites someone who is not a member yet (202, the invitation).
 */
function describeMemberAdd(answer: Json, org: string): string {
  if (typeof answer.expires_at !== 'string')
    return `${text(answer.user)} is now ${text(answer.role)} of ${org}`;
  return [
    `invited ${text(answer.user)} to ${org} as ${text(answer.role)}; they are a member once they accept`,
    `(the invitation expires at ${answer.expires_at}; they accept with: patgate user accept ${org})`,
  ].join('\n');
}

function auditTable(events: readonly Json[]): string {
  return formatTable(
    ['AT', 'ACTION', 'ACTOR', 'ORG', 'TOKEN', 'USER', 'REASON'],
    events.map((e) => [
      text(e.at),
      text(e.action),
      actorOf(e),
      text(e.org),
      text(e.token_id),
      text(e.user),
      e.reason === null ? '' : text(e.reason),
    ]),
  );
}

interface MembersOptions extends AdminCommandOptions {
  role: string;
  reason?: string;
}

function membersCall(
  client: AdminClient,
  org: string,
  action: 'add' | 'remove' | undefined,
  user: string,
  o: MembersOptions,
): Promise<unknown> {
  if (action === 'add') return client.call('PUT', orgPath(org, 'members', user), { role: o.role });
  if (action === 'remove') return client.call('DELETE', orgPath(org, 'members', user), withReason(o.reason));
  return client.call('GET', orgPath(org, 'members'));
}

/**
 * `patgate org policy|members|invitations|requests|approve|deny|tokens|revoke|audit`: an
 * organization's side of the admin API. With the site admin credential in
 * `PATGATE_ADMIN_TOKEN`, or an org admin's own fine-grained token holding
 * `organization_tokens:write` (`:read` is enough for the reads).
 */
export function registerOrgCommands(program: Command): void {
  const org = program
    .command('org')
    .description('an organization: policy, members, token requests, tokens and audit (site or org admin)');

  withAdminOptions(
    org.command('policy').argument('<org>').description('show the token policy, or change it with --set'),
  )
    .option(
      '--set <key=value>',
      'require_approval=true|false, max_lifetime_days=N|none, classic_tokens=allowed|blocked, fine_grained_tokens=allowed|blocked, revoke_unused_after_days=N|none; repeatable',
      setting,
      {},
    )
    .option('--force', 'apply a policy even if it leaves no org admin able to act (the site admin still can)')
    .option(
      '--ip-allow-list <cidrs>',
      'comma-separated CIDR blocks requests reaching the org may come from; "none" removes the list',
      ipListOption,
    )
    .option(
      '--rate-limit <points/window[/per]>',
      'the org\'s rate limit, e.g. 5000/1h/user; "none" removes it',
      rateLimitOption,
    )
    .action(
      async (
        name: string,
        o: AdminCommandOptions & {
          set: Record<string, PolicyValue>;
          force?: boolean;
          ipAllowList?: string[] | null;
          rateLimit?: Record<string, unknown> | null;
        },
      ) => {
        const limits = {
          ...(o.ipAllowList === undefined ? {} : { ip_allow_list: o.ipAllowList }),
          ...(o.rateLimit === undefined ? {} : { rate_limit: o.rateLimit }),
        };
        const change = Object.keys(o.set).length > 0 || Object.keys(limits).length > 0;
        await runAdminCall(
          o,
          (client) =>
            change
              ? client.call('PUT', orgPath(name, 'policy'), {
                  ...o.set,
                  ...limits,
                  ...(o.force ? { force: true } : {}),
                })
              : client.call('GET', orgPath(name, 'policy')),
          (r) => describePolicy(r as Json),
        );
      },
    );

  withAdminOptions(
    org
      .command('members')
      .argument('<org>')
      .argument('[action]', 'add or remove; none lists the members')
      .argument('[user]', 'the member to add or remove')
      .description(
        'list members, or add / remove one (removal cuts their tokens off at once); an org admin adding someone who is not a member invites them',
      ),
  )
    .option('--role <role>', 'member or admin (add)', 'member')
    .option('--reason <text>', 'why (remove); recorded in the audit log')
    .action(async (name: string, action: string | undefined, user: string | undefined, o: MembersOptions) => {
      const misuse =
        action !== undefined && action !== 'add' && action !== 'remove'
          ? `unknown members action "${action}" (add or remove)`
          : action !== undefined && user === undefined
            ? `members ${action} needs a user`
            : null;
      if (misuse !== null) {
        process.stderr.write(`patgate: ${misuse}\n`);
        process.exitCode = 2;
        return;
      }
      await runAdminCall(
        o,
        (client) => membersCall(client, name, action as 'add' | 'remove' | undefined, user ?? '', o),
        (r) => {
          if (action === 'add') return describeMemberAdd(r as Json, name);
          if (action === 'remove')
            return `${text(user)} removed from ${name}; their tokens no longer reach it`;
          const { members } = r as { members: Json[] };
          return formatTable(
            ['USER', 'ROLE'],
            members.map((m) => [text(m.user), text(m.role)]),
          );
        },
      );
    });

  withAdminOptions(
    org
      .command('invitations')
      .argument('<org>')
      .argument('[action]', 'cancel; none lists the open invitations')
      .argument('[user]', 'whose invitation to cancel')
      .description('open invitations to the org, or cancel one'),
  )
    .option('--reason <text>', 'why (cancel); recorded in the audit log')
    .action(
      async (
        name: string,
        action: string | undefined,
        user: string | undefined,
        o: AdminCommandOptions & { reason?: string },
      ) => {
        const misuse =
          action !== undefined && action !== 'cancel'
            ? `unknown invitations action "${action}" (cancel)`
            : action !== undefined && user === undefined
              ? 'invitations cancel needs a user'
              : null;
        if (misuse !== null) {
          process.stderr.write(`patgate: ${misuse}\n`);
          process.exitCode = 2;
          return;
        }
        await runAdminCall(
          o,
          (client) =>
            action === 'cancel'
              ? client.call('DELETE', orgPath(name, 'invitations', user ?? ''), withReason(o.reason))
              : client.call('GET', orgPath(name, 'invitations')),
          (r) =>
            action === 'cancel'
              ? `cancelled the invitation of ${text(user)} to ${name}`
              : invitationTable((r as { invitations: Json[] }).invitations),
        );
      },
    );

  withAdminOptions(
    org.command('requests').argument('<org>').description('tokens waiting for approval'),
  ).action(async (name: string, o: AdminCommandOptions) => {
    await runAdminCall(
      o,
      (client) => client.call('GET', orgPath(name, 'token-requests')),
      (r) => tokenTable((r as { requests: Json[] }).requests),
    );
  });

  for (const verdict of ['approve', 'deny'] as const) {
    withAdminOptions(
      org
        .command(verdict)
        .argument('<org>')
        .argument('<id>', 'token id (tok_...)')
        .description(verdict === 'approve' ? 'approve a token request' : 'deny a token request'),
    )
      .option('--reason <text>', 'why; the holder sees it on a denied token, and the audit log keeps it')
      .action(async (name: string, id: string, o: AdminCommandOptions & { reason?: string }) => {
        await runAdminCall(
          o,
          (client) =>
            client.call('POST', orgPath(name, 'token-requests', id, verdict), withReason(o.reason) ?? {}),
          (r) => `${verdict === 'approve' ? 'approved' : 'denied'} ${text((r as Json).id)}`,
        );
      });
  }

  withAdminOptions(
    org
      .command('tokens')
      .argument('<org>')
      .description('tokens that reach the org (and those awaiting approval)'),
  )
    .option('--last-used-before <iso8601>', 'only tokens last used before this instant')
    .option('--last-used-after <iso8601>', 'only tokens last used after this instant')
    .action(async (name: string, o: AdminCommandOptions & ListTokenOptions) => {
      const q = new URLSearchParams();
      if (o.lastUsedBefore) q.set('last_used_before', o.lastUsedBefore);
      if (o.lastUsedAfter) q.set('last_used_after', o.lastUsedAfter);
      const qs = q.toString();
      await runAdminCall(
        o,
        (client) => client.call('GET', `${orgPath(name, 'tokens')}${qs === '' ? '' : `?${qs}`}`),
        (r) => tokenTable((r as { tokens: Json[] }).tokens),
      );
    });

  withAdminOptions(
    org
      .command('revoke')
      .argument('<org>')
      .argument('<id>', 'token id (tok_...)')
      .description('cut a fine-grained token off: revoked on every instance'),
  )
    .option('--reason <text>', 'why; recorded in the audit log')
    .action(async (name: string, id: string, o: AdminCommandOptions & { reason?: string }) => {
      await runAdminCall(
        o,
        (client) => client.call('DELETE', orgPath(name, 'tokens', id), withReason(o.reason)),
        (r) => `revoked ${text((r as Json).id)}`,
      );
    });

  withAdminOptions(org.command('audit').argument('<org>').description("the org's audit events, newest first"))
    .option('--token <id>', 'only events about this token')
    .option('--user <login>', 'only events about or by this user')
    .option('--limit <n>', 'at most this many events (default 100)')
    .action(
      async (name: string, o: AdminCommandOptions & { token?: string; user?: string; limit?: string }) => {
        const q = new URLSearchParams();
        if (o.token) q.set('token', o.token);
        if (o.user) q.set('user', o.user);
        if (o.limit) q.set('limit', o.limit);
        const qs = q.toString();
        await runAdminCall(
          o,
          (client) => client.call('GET', `${orgPath(name, 'audit')}${qs === '' ? '' : `?${qs}`}`),
          (r) => auditTable((r as { events: Json[] }).events),
        );
      },
    );

  // Registered with the org commands so that main.ts needs no change; a person's own
  // calls are the other half of an invitation.
  registerUserCommands(program);
}

/**
 * `patgate user invitations|accept`: a person's own side of an invitation, with
 * one of their own tokens in `PATGATE_TOKEN` (either kind; until the console
 * gives people a session). The calls act as that token's user and no one else.
 */
export function registerUserCommands(program: Command): void {
  const user = program
    .command('user')
    .description('your own side of the admin API, with one of your tokens in PATGATE_TOKEN');

  withAdminOptions(user.command('invitations').description('organizations that invited you')).action(
    async (o: AdminCommandOptions) => {
      await runAdminCall(
        o,
        (client) => client.call('GET', '/v1/user/invitations'),
        (r) => invitationTable((r as { invitations: Json[] }).invitations),
        'PATGATE_TOKEN',
      );
    },
  );

  withAdminOptions(
    user.command('accept').argument('<org>').description('accept an invitation: you become a member'),
  ).action(async (org: string, o: AdminCommandOptions) => {
    await runAdminCall(
      o,
      (client) => client.call('POST', `/v1/user/invitations/${encodeURIComponent(org)}/accept`),
      (r) => `you are now ${text((r as Json).role)} of ${text((r as Json).org)}`,
      'PATGATE_TOKEN',
    );
  });
}
