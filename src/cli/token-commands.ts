import type { Command } from 'commander';
import { AdminClient, AdminClientError } from './admin-client.js';

type TokenJson = Record<string, unknown>;

interface CommonOptions {
  adminUrl: string;
  json?: boolean;
}

function client(options: CommonOptions): AdminClient {
  return new AdminClient(options.adminUrl, process.env.PATGATE_ADMIN_TOKEN || undefined);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function describeToken(t: TokenJson): string[] {
  const lines = [
    `id:          ${String(t.id)}`,
    `kind:        ${String(t.kind)}`,
    `user:        ${String(t.user)}`,
    `name:        ${String(t.name)}`,
    `status:      ${String(t.status)}${t.status_reason ? ` (${String(t.status_reason)})` : ''}`,
  ];
  if (t.kind === 'fine_grained') {
    const repos = Array.isArray(t.repositories) ? t.repositories.join(', ') : String(t.repositories);
    const perms = Object.entries((t.permissions ?? {}) as Record<string, string>)
      .map(([f, l]) => `${f}:${l}`)
      .join(', ');
    lines.push(`owner:       ${String(t.resource_owner)}`, `repos:       ${repos}`, `permissions: ${perms}`);
  } else {
    lines.push(`scopes:      ${Array.isArray(t.scopes) ? t.scopes.join(', ') : ''}`);
  }
  lines.push(`created:     ${String(t.created_at)}`, `expires:     ${String(t.expires_at)}`);
  if ('last_used_at' in t)
    lines.push(`last used:   ${t.last_used_at === null ? 'never' : String(t.last_used_at)}`);
  return lines;
}

function table(rows: TokenJson[]): string {
  const header = ['ID', 'KIND', 'USER', 'OWNER', 'STATUS', 'EXPIRES', 'NAME'];
  const body = rows.map((t) => [
    String(t.id),
    String(t.kind),
    String(t.user),
    t.kind === 'fine_grained' ? String(t.resource_owner) : '*',
    String(t.status),
    String(t.expires_at).slice(0, 10),
    String(t.name),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  return [header, ...body]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function run(
  options: CommonOptions,
  action: () => Promise<unknown>,
  human: (result: unknown) => string,
): Promise<void> {
  try {
    const result = await action();
    process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : human(result)}\n`);
  } catch (error) {
    if (error instanceof AdminClientError) {
      process.stderr.write(`patgate: ${error.message}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify(error.body, null, 2)}\n`);
    } else {
      process.stderr.write(
        `patgate: cannot reach the admin API at ${options.adminUrl}: ${(error as Error).message}\n`,
      );
    }
    process.exitCode = 1;
  }
}

/** `patgate token create|list|show|revoke|regenerate`: the admin API from a terminal. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage tokens through the admin API');
  const withCommon = (cmd: Command): Command =>
    cmd
      .option(
        '--admin-url <url>',
        'admin API base URL',
        process.env.PATGATE_ADMIN_URL ?? 'http://127.0.0.1:8081',
      )
      .option('--json', 'print JSON for scripts');

  withCommon(token.command('create').description('create a token; prints the secret once'))
    .option('--kind <kind>', 'fine_grained or classic', 'fine_grained')
    .requiredOption('--user <login>', 'the token holder')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--owner <login>', 'resource owner (fine-grained)')
    .option('--repos <list>', '"all" or comma-separated repository names (fine-grained)', 'all')
    .option('--permission <feature:level>', 'a permission, repeatable (fine-grained)', collect, [])
    .option('--scope <scope>', 'read, write or admin, repeatable (classic)', collect, [])
    .option('--expires-in-days <n>', 'lifetime in days')
    .option('--expires-at <rfc3339>', 'expiry instant')
    .action(async (o: CommonOptions & Record<string, string | string[] | undefined>) => {
      const expiry = {
        ...(o.expiresInDays === undefined ? {} : { expires_in_days: Number(o.expiresInDays) }),
        ...(o.expiresAt === undefined ? {} : { expires_at: o.expiresAt }),
      };
      const body =
        o.kind === 'classic'
          ? { kind: 'classic', user: o.user, name: o.name, scopes: o.scope, ...expiry }
          : {
              kind: 'fine_grained',
              user: o.user,
              name: o.name,
              resource_owner: o.owner,
              repositories: o.repos === 'all' ? 'all' : String(o.repos).split(',').filter(Boolean),
              permissions: Object.fromEntries(
                (o.permission as string[]).map((p) => p.split(':') as [string, string]),
              ),
              ...expiry,
            };
      await run(
        o,
        () => client(o).call('POST', '/v1/tokens', body),
        (r) => {
          const t = r as TokenJson;
          return [
            ...describeToken(t),
            '',
            `token:       ${String(t.token)}`,
            '(shown once: store it now)',
          ].join('\n');
        },
      );
    });

  withCommon(token.command('list').description('list tokens'))
    .option('--user <login>')
    .option('--owner <login>')
    .option('--status <status>')
    .action(async (o: CommonOptions & { user?: string; owner?: string; status?: string }) => {
      const q = new URLSearchParams();
      if (o.user) q.set('user', o.user);
      if (o.owner) q.set('resource_owner', o.owner);
      if (o.status) q.set('status', o.status);
      const qs = q.toString();
      await run(
        o,
        () => client(o).call('GET', `/v1/tokens${qs === '' ? '' : `?${qs}`}`),
        (r) => table((r as { tokens: TokenJson[] }).tokens),
      );
    });

  withCommon(token.command('show').argument('<id>').description('show one token')).action(
    async (id: string, o: CommonOptions) => {
      await run(
        o,
        () => client(o).call('GET', `/v1/tokens/${encodeURIComponent(id)}`),
        (r) => describeToken(r as TokenJson).join('\n'),
      );
    },
  );

  withCommon(token.command('revoke').argument('<id>').description('revoke a token everywhere')).action(
    async (id: string, o: CommonOptions) => {
      await run(
        o,
        () => client(o).call('DELETE', `/v1/tokens/${encodeURIComponent(id)}`),
        (r) => `revoked ${String((r as TokenJson).id)}`,
      );
    },
  );

  withCommon(token.command('regenerate').argument('<id>').description('new secret and expiry, same grants'))
    .option('--expires-in-days <n>', 'lifetime in days')
    .action(async (id: string, o: CommonOptions & { expiresInDays?: string }) => {
      const body = o.expiresInDays === undefined ? {} : { expires_in_days: Number(o.expiresInDays) };
      await run(
        o,
        () => client(o).call('POST', `/v1/tokens/${encodeURIComponent(id)}/regenerate`, body),
        (r) => {
          const t = r as TokenJson;
          return [
            ...describeToken(t),
            '',
            `token:       ${String(t.token)}`,
            '(shown once: store it now)',
          ].join('\n');
        },
      );
    });
}
