import type { Command } from 'commander';
import { request } from 'undici';

export class AdminClientError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const detail =
      typeof body === 'object' && body !== null && 'detail' in body
        ? String((body as { detail: unknown }).detail)
        : '';
    super(`admin API answered ${status}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'AdminClientError';
  }
}

/** A small JSON client for the admin API, used by `patgate token ...` and `patgate org ...`. */
export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string | undefined,
  ) {}

  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.adminToken !== undefined) headers.authorization = `Bearer ${this.adminToken}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(new URL(path, this.baseUrl), {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Keep the raw text for the error message.
    }
    if (res.statusCode >= 400) throw new AdminClientError(res.statusCode, parsed);
    return parsed;
  }
}

/** Options every admin API command takes. */
export interface AdminCommandOptions {
  adminUrl: string;
  json?: boolean;
}

export type Json = Record<string, unknown>;

/** Adds `--admin-url` and `--json` to a command. */
export function withAdminOptions(cmd: Command): Command {
  return cmd
    .option(
      '--admin-url <url>',
      'admin API base URL',
      process.env.PATGATE_ADMIN_URL ?? 'http://127.0.0.1:8081',
    )
    .option('--json', 'print the JSON answer, for scripts');
}

/**
 * Where a command finds its credential: `PATGATE_ADMIN_TOKEN` for the admin calls
 * (the site credential, or an org admin's own fine-grained token), `PATGATE_TOKEN`
 * for a person's own calls (`patgate user ...`: any of their active tokens).
 */
export type CredentialVariable = 'PATGATE_ADMIN_TOKEN' | 'PATGATE_TOKEN';

/**
 * The credential is read from the environment only, never from an argument, so
 * that it stays out of shell history and process listings.
 */
export function clientFor(
  options: AdminCommandOptions,
  variable: CredentialVariable = 'PATGATE_ADMIN_TOKEN',
): AdminClient {
  return new AdminClient(options.adminUrl, process.env[variable] || undefined);
}

/** What to do when a command's credential is not set: the variable, and what belongs in it. */
const MISSING_CREDENTIAL: Readonly<Record<CredentialVariable, string>> = {
  PATGATE_ADMIN_TOKEN:
    "patgate: set PATGATE_ADMIN_TOKEN to the site admin credential (the one `patgate serve` was started with), or to an org admin's own token; it is read from the environment only, to keep it out of shell history",
  PATGATE_TOKEN:
    'patgate: set PATGATE_TOKEN to one of your own active tokens (pgt_... or pgc_...); it is read from the environment only, to keep it out of shell history',
};

/**
 * Runs one admin call and prints its answer: JSON with `--json`, else `human(answer)`.
 * Without its credential in the environment it calls nothing: it says which variable to set
 * and sets exit code 2. A refusal prints the API's detail on stderr (and its problem body
 * with `--json`) and sets exit code 1.
 */
export async function runAdminCall(
  options: AdminCommandOptions,
  action: (client: AdminClient) => Promise<unknown>,
  human: (answer: unknown) => string,
  variable: CredentialVariable = 'PATGATE_ADMIN_TOKEN',
): Promise<void> {
  if (!process.env[variable]) {
    process.stderr.write(`${MISSING_CREDENTIAL[variable]}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const answer = await action(clientFor(options, variable));
    process.stdout.write(`${options.json ? JSON.stringify(answer, null, 2) : human(answer)}\n`);
  } catch (error) {
    if (error instanceof AdminClientError) {
      const hint = error.status === 401 ? ` (check ${variable})` : '';
      process.stderr.write(`patgate: ${error.message}${hint}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify(error.body, null, 2)}\n`);
    } else {
      process.stderr.write(
        `patgate: cannot reach the admin API at ${options.adminUrl}: ${(error as Error).message}\n`,
      );
    }
    process.exitCode = 1;
  }
}

/** Columns padded to their widest cell; `(none)` for an empty list, so people see it ran. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '(none)';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `key: value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([k]) => k.length)) + 2;
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
}

export function text(value: unknown): string {
  return value === null || value === undefined ? '-' : String(value);
}
