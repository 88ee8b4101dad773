import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import { hashToken, parseToken } from '../tokens/format.js';
import { problem, type ReportLimiter, type ReservedAnswer, takeReportBudget } from './reserved-answer.js';
import { revokeReported } from './revoke-reported.js';

export type { ReportLimiter, ReservedAnswer } from './reserved-answer.js';
export { LEAK_REASON } from './revoke-reported.js';

export interface CredentialRevokeOptions {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly limiter: ReportLimiter;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** GitHub's limit on one call of its credential revocation API. */
export const MAX_CREDENTIALS = 1_000;
/** 1,000 tokens of 40 characters in JSON, with room for whitespace. */
export const MAX_REPORT_BYTES = 128 * 1024;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
/** The one answer to every well-formed report: it never says which credentials existed. */
const ACCEPTED: ReservedAnswer = { status: 202, headers: JSON_HEADERS, body: '{}' };

/**
 * `POST /_patgate/credentials/revoke` (GitHub's credential revocation API shape):
 * anyone who finds a token may report it, without authentication. Every
 * well-formed token in the report that is still live is revoked with reason
 * "reported leaked", audited and announced (`token.leaked`).
 *
 * The answer (202 `{}`) is given before any lookup and is the same whatever the
 * report held; the revocations run after it, one report at a time, so neither the
 * body nor the time taken says whether a credential existed.
 */
export class CredentialRevoker {
  readonly #now: () => number;
  #queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: CredentialRevokeOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** The handler the gateway listener calls with the raw body and the client address. */
  readonly handle = async (body: Buffer, clientAddress: string): Promise<ReservedAnswer> => {
    if (body.length > MAX_REPORT_BYTES) {
      return problem(413, 'Payload too large', `a report is at most ${MAX_REPORT_BYTES} bytes`);
    }
    const credentials = parseReport(body);
    if (typeof credentials === 'string') return problem(422, 'Validation Failed', credentials);
    const refused = await takeReportBudget(
      this.options.limiter,
      clientAddress,
      this.options.logger,
      'leak report',
    );
    if (refused !== null) return refused;
    const hashes = [...new Set(credentials.filter((c) => parseToken(c).ok).map(hashToken))];
    if (hashes.length > 0) this.#enqueue(hashes);
    return ACCEPTED;
  };

  /** Resolves when every accepted report has been processed (shutdown, tests). */
  idle(): Promise<void> {
    return this.#queue;
  }

  #enqueue(hashes: readonly string[]): void {
    this.#queue = this.#queue.then(() => this.#revokeAll(hashes));
  }

  async #revokeAll(hashes: readonly string[]): Promise<void> {
    for (const hash of hashes) {
      try {
        await this.#revoke(hash);
      } catch (err) {
        // Logged by hash only: the hash is the log field for a token, never the secret.
        this.options.logger.error({ err, token_hash: hash }, 'leak report: revocation failed');
      }
    }
  }

  async #revoke(hash: string): Promise<void> {
    await revokeReported({ ...this.options, now: this.#now }, hash, 'leak_report');
  }
}

/** The report's credentials, or why it is not one. */
function parseReport(body: Buffer): string[] | string {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'expected {"credentials": [...]}';
  }
  const credentials = (value as { credentials?: unknown }).credentials;
  if (!Array.isArray(credentials) || credentials.length === 0) {
    return '"credentials" must be a non-empty list';
  }
  if (credentials.length > MAX_CREDENTIALS) return `"credentials" holds at most ${MAX_CREDENTIALS} entries`;
  if (!credentials.every((c) => typeof c === 'string')) return '"credentials" must hold strings';
  return credentials as string[];
}
