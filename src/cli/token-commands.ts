import { type Command, InvalidArgumentError } from 'commander';
import {
  type AdminCommandOptions,
  formatFields,
  formatTable,
  type Json,
  runAdminCall,
  text,
  withAdminOptions,
} from './admin-client.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function permission(value: string, previous: string[]): string[] {
  if (!/^[a-z][a-z0-9_]*:[a-z]+$/.test(value)) {
    throw new InvalidArgumentError('expected feature:level, e.g. issues:write');
  }
  return [...previous, value];
}

export function days(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of days');
  return n;
}

/** The fields people read first, then the ones scripts use `--json` for. */
export function describeToken(t: Json): string {
  const fields: [string, string][] = [
    ['id', text(t.id)],
    ['kind', text(t.kind)],
    ['user', text(t.user)],
    ['name', text(t.name)],
    ...(typeof t.description === 'string' ? [['description', t.description] as [string, string]] : []),
    ['status', `${text(t.status)}${t.status_reason ? ` (${text(t.status_reason)})` : ''}`],
  ];
  if (t.kind === 'fine_grained') {
    const repos = Array.isArray(t.repositories) ? t.repositories.join(', ') : text(t.repositories);
    const perms = Object.entries((t.permissions ?? {}) as Record<string, string>)
      .map(([f, l]) => `${f}:${l}`)
      .join(', ');
    fields.push(['owner', text(t.resource_owner)], ['repos', repos], ['permissions', perms]);
  } else {
    fields.push(['scopes', Array.isArray(t.scopes) ? t.scopes.join(', ') : '']);
  }
  fields.push(['created', text(t.created_at)], ['expires', text(t.expires_at)]);
  if ('last_used_at' in t)
    fields.push(['last used', t.last_used_at === null ? 'never' : text(t.last_used_at)]);
  return formatFields(fields);
}

/** One token per row; classic tokens reach every owner their user can, shown as `*`. */
export function tokenTable(rows: readonly Json[]): string {
  return formatTable(
    ['ID', 'KIND', 'USER', 'OWNER', 'STATUS', 'EXPIRES', 'NAME'],
    rows.map((t) => [
      text(t.id),
      text(t.kind),
      text(t.user),
      t.kind === 'fine_grained' ? text(t.resource_owner) : '*',
      text(t.status),
      text(t.expires_at).slice(0, 10),
      text(t.name),
    ]),
  );
}

function withSecret(answer: unknown): string {
  const t = answer as Json;
  return `${describeToken(t)}\n\ntoken:       ${text(t.token)}\n(shown once: store it now)`;
}

function expiryOf(o: { expiresInDays?: number; expiresAt?: string }): Json {
  return {
    ...(o.expiresInDays === undefined ? {} : { expires_in_days: o.expiresInDays }),
    ...(o.expiresAt === undefined ? {} : { expires_at: o.expiresAt }),
  };
}

interface CreateOptions extends AdminCommandOptions {
  kind: string;
  user: string;
  name: string;
  description?: string;
  owner?: string;
  repos?: string;
  permission: string[];
  scope: string[];
  expiresInDays?: number;
  expiresAt?: string;
  allowedIp: string[];
  rateLimit?: { limit: number; window: string };
}

/** `--rate-limit 1000/1h`: the token's own budget (docs/rate-limits.md). */
function rateLimitOption(value: string): { limit: number; window: string } {
  const match = /^([1-9][0-9]*)\/([1-9][0-9]*[smhd])$/.exec(value);
  if (match === null) throw new InvalidArgumentError('expected points/window, e.g. 1000/1h');
  return { limit: Number(match[1]), window: match[2] as string };
}

function descriptionOf(o: CreateOptions): Record<string, unknown> {
  return o.description === undefined ? {} : { description: o.description };
}

/** Where the token may be used from, and its own budget, when asked for. */
function limitsOf(o: CreateOptions): Record<string, unknown> {
  return {
    ...(o.allowedIp.length === 0 ? {} : { allowed_ips: o.allowedIp }),
    ...(o.rateLimit === undefined ? {} : { rate_limit: o.rateLimit }),
  };
}

/** GitHub's last-used filters, as `token list` and `org tokens` take them. */
export interface ListTokenOptions {
  readonly lastUsedBefore?: string;
  readonly lastUsedAfter?: string;
}

/** `patgate token create|list|show|revoke|regenerate`: the admin API from a terminal. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage tokens through the admin API (site admin)');

  withAdminOptions(token.command('create').description('create a token; prints the secret once'))
    .option('--kind <kind>', 'fine_grained or classic', 'fine_grained')
    .requiredOption('--user <login>', 'the token holder')
    .requiredOption('--name <name>', 'what the token is for')
    .option(
      '--description <text>',
      'a longer note on what the token is for (plain text, at most 1024 characters)',
    )
    .option('--owner <login>', 'resource owner (fine-grained)')
    .option(
      '--repos <list>',
      'comma-separated repository names, or "all" for every repository of the owner (fine-grained: required)',
    )
    .option('--permission <feature:level>', 'a permission, repeatable (fine-grained)', permission, [])
    .option('--scope <scope>', 'read, write or admin, repeatable (classic)', collect, [])
    .option('--expires-in-days <n>', 'lifetime in days', days)
    .option('--expires-at <rfc3339>', 'expiry instant')
    .option(
      '--allowed-ip <cidr>',
      'a client address or CIDR block the token may be used from, repeatable',
      collect,
      [],
    )
    .option('--rate-limit <points/window>', "the token's own rate limit, e.g. 1000/1h", rateLimitOption)
    .action(async (o: CreateOptions, cmd: Command) => {
      if (o.kind !== 'classic' && o.repos === undefined) {
        // A token that reaches every repository must be asked for, never a default.
        cmd.error(
          'error: a fine-grained token needs --repos: the repositories it reaches (--repos api,web), or --repos all for every repository of the owner',
          { exitCode: 2 },
        );
      }
      const repos = o.repos ?? '';
      const body =
        o.kind === 'classic'
          ? {
              kind: 'classic',
              user: o.user,
              name: o.name,
              ...descriptionOf(o),
              scopes: o.scope,
              ...expiryOf(o),
              ...limitsOf(o),
            }
          : {
              kind: o.kind,
              user: o.user,
              name: o.name,
              ...descriptionOf(o),
              resource_owner: o.owner,
              repositories: repos === 'all' ? 'all' : repos.split(',').filter(Boolean),
              permissions: Object.fromEntries(o.permission.map((p) => p.split(':') as [string, string])),
              ...expiryOf(o),
              ...limitsOf(o),
            };
      await runAdminCall(o, (client) => client.call('POST', '/v1/tokens', body), withSecret);
    });

  withAdminOptions(token.command('list').description('list tokens (never their secrets)'))
    .option('--user <login>', 'only tokens of this user')
    .option('--owner <login>', 'only fine-grained tokens for this resource owner')
    .option('--status <status>', 'active, pending, denied or revoked')
    .option('--last-used-before <iso8601>', 'only tokens last used before this instant')
    .option('--last-used-after <iso8601>', 'only tokens last used after this instant')
    .action(
      async (
        o: AdminCommandOptions & ListTokenOptions & { user?: string; owner?: string; status?: string },
      ) => {
        const q = new URLSearchParams();
        if (o.user) q.set('user', o.user);
        if (o.owner) q.set('resource_owner', o.owner);
        if (o.status) q.set('status', o.status);
        if (o.lastUsedBefore) q.set('last_used_before', o.lastUsedBefore);
        if (o.lastUsedAfter) q.set('last_used_after', o.lastUsedAfter);
        const qs = q.toString();
        await runAdminCall(
          o,
          (client) => client.call('GET', `/v1/tokens${qs === '' ? '' : `?${qs}`}`),
          (r) => tokenTable((r as { tokens: Json[] }).tokens),
        );
      },
    );

  withAdminOptions(
    token.command('show').argument('<id>').description('show one token, with its last use'),
  ).action(async (id: string, o: AdminCommandOptions) => {
    await runAdminCall(
      o,
      (client) => client.call('GET', `/v1/tokens/${encodeURIComponent(id)}`),
      (r) => describeToken(r as Json),
    );
  });

  withAdminOptions(token.command('revoke').argument('<id>').description('revoke a token on every instance'))
    .option('--reason <text>', 'why; recorded in the audit log')
    .action(async (id: string, o: AdminCommandOptions & { reason?: string }) => {
      await runAdminCall(
        o,
        (client) =>
          client.call(
            'DELETE',
            `/v1/tokens/${encodeURIComponent(id)}`,
            o.reason === undefined ? undefined : { reason: o.reason },
          ),
        (r) => `revoked ${text((r as Json).id)}`,
      );
    });

  withAdminOptions(
    token
      .command('regenerate')
      .argument('<id>')
      .description('new secret and expiry, same grants; the old secret dies'),
  )
    .option('--expires-in-days <n>', 'lifetime in days', days)
    .option('--expires-at <rfc3339>', 'expiry instant')
    .action(async (id: string, o: AdminCommandOptions & { expiresInDays?: number; expiresAt?: string }) => {
      await runAdminCall(
        o,
        (client) => client.call('POST', `/v1/tokens/${encodeURIComponent(id)}/regenerate`, expiryOf(o)),
        withSecret,
      );
    });
}
