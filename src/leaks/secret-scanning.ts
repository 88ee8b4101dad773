import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import { hashToken, parseToken } from '../tokens/format.js';
import { problem, type ReportLimiter, type ReservedAnswer, takeReportBudget } from './reserved-answer.js';
import { revokeReported } from './revoke-reported.js';

/** One key of GitHub's public-keys document (`secret_scanning.public_keys`). */
export interface PartnerPublicKey {
  readonly key_identifier: string;
  /** PEM, ECDSA P-256. */
  readonly key: string;
  readonly is_current: boolean;
}

export interface SecretScanningOptions {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly limiter: ReportLimiter;
  readonly logger: Logger;
  readonly publicKeys: readonly PartnerPublicKey[];
  readonly now?: () => number;
}

/** GitHub batches matches; 1 MiB holds several thousand. */
export const MAX_SCAN_BODY_BYTES = 1024 * 1024;
const KEY_ID_HEADER = 'github-public-key-identifier';
const SIGNATURE_HEADER = 'github-public-key-signature';
// A DER ECDSA P-256 signature is at most 72 bytes; base64 of that is 96 characters.
const MAX_SIGNATURE_CHARS = 128;

/** One match as GitHub sends it. */
interface Match {
  readonly token: string;
  readonly type: string;
}

/** One entry of the answer, GitHub's feedback format: the token hashed, never echoed. */
interface Label {
  readonly token_hash: string;
  readonly token_type: string;
  readonly label: 'true_positive' | 'false_positive';
}

/**
 * `POST /_patgate/secret-scanning`: GitHub's secret scanning partner program. GitHub
 * sends the tokens it found in public places, signed with ECDSA P-256 over the raw body
 * (`Github-Public-Key-Identifier` names the key, `Github-Public-Key-Signature` is the
 * base64 DER signature). Only a body signed by a configured key is read; every live
 * token in it is revoked as a leak report revokes it (reason "reported leaked",
 * `token.leaked`, audit). The answer labels each match: `true_positive` for a live
 * token this call revoked, `false_positive` for anything else (unknown, malformed,
 * already revoked or expired), so unknown tokens all get the same answer.
 */
export class SecretScanningEndpoint {
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #now: () => number;

  constructor(private readonly options: SecretScanningOptions) {
    // Parsed once; the config schema has checked each is a P-256 PEM key.
    this.#keys = new Map(options.publicKeys.map((k) => [k.key_identifier, createPublicKey(k.key)]));
    this.#now = options.now ?? Date.now;
  }

  /** The handler the gateway listener calls with the raw body, client address and headers. */
  readonly handle = async (
    body: Buffer,
    clientAddress: string,
    headers: readonly string[],
  ): Promise<ReservedAnswer> => {
    if (body.length > MAX_SCAN_BODY_BYTES) {
      return problem(413, 'Payload too large', `a report is at most ${MAX_SCAN_BODY_BYTES} bytes`);
    }
    const refused = await takeReportBudget(
      this.options.limiter,
      clientAddress,
      this.options.logger,
      'secret scanning',
    );
    if (refused !== null) return refused;
    const keyId = singleHeader(headers, KEY_ID_HEADER);
    const signature = singleHeader(headers, SIGNATURE_HEADER);
    if (keyId === null || signature === null) {
      return problem(
        400,
        'Bad request',
        'exactly one Github-Public-Key-Identifier and one Github-Public-Key-Signature are required',
      );
    }
    const key = this.#keys.get(keyId);
    if (key === undefined || !verifies(key, body, signature)) {
      this.options.logger.warn({ key_identifier: keyId.slice(0, 80) }, 'secret scanning: signature refused');
      return problem(401, 'Unauthorized', 'the signature does not verify against a configured public key');
    }
    const matches = parseMatches(body);
    if (typeof matches === 'string') return problem(422, 'Validation Failed', matches);
    let labels: Label[];
    try {
      labels = await this.#labelAll(matches);
    } catch (err) {
      // Labelling a live token false_positive would leave it live: GitHub retries a failed call.
      this.options.logger.error({ err }, 'secret scanning: the store could not answer');
      return problem(503, 'Service unavailable', 'try again later', { 'retry-after': '5' });
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: JSON.stringify(labels),
    };
  };

  async #labelAll(matches: readonly Match[]): Promise<Label[]> {
    // One outcome per distinct token: a token listed twice is revoked once, and both
    // entries say what that revocation found. In turn, as the public leak report does: a
    // report of hundreds of tokens must not start hundreds of store lookups at once. The
    // first store failure ends the call (503) and GitHub sends the report again.
    const revoked = new Map<string, boolean>();
    for (const { token } of matches) {
      if (!revoked.has(token)) revoked.set(token, await this.#revoke(token));
    }
    return matches.map((m) => ({
      token_hash: sha256Hex(m.token),
      token_type: m.type,
      label: revoked.get(m.token) === true ? 'true_positive' : 'false_positive',
    }));
  }

  #revoke(token: string): Promise<boolean> {
    if (!parseToken(token).ok) return Promise.resolve(false);
    return revokeReported({ ...this.options, now: this.#now }, hashToken(token), 'secret_scanning');
  }
}

/** The value of a header that must appear once; null when absent or repeated. */
function singleHeader(headers: readonly string[], lowerName: string): string | null {
  let found: string | null = null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i];
    if (name !== undefined && name.length === lowerName.length && name.toLowerCase() === lowerName) {
      if (found !== null) return null;
      found = (headers[i + 1] ?? '').trim();
    }
  }
  return found === '' ? null : found;
}

/** ECDSA-NIST-P256V1-SHA256 over the raw body, the signature DER-encoded and base64'd (GitHub's format). */
function verifies(key: KeyObject, body: Buffer, signature: string): boolean {
  if (signature.length > MAX_SIGNATURE_CHARS || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** GitHub's body: a non-empty JSON array of `{token, type, url, source}`. */
function parseMatches(body: Buffer): Match[] | string {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  if (!Array.isArray(value) || value.length === 0) return 'expected a non-empty JSON array of matches';
  const matches: Match[] = [];
  for (const [i, entry] of value.entries()) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return `[${i}]: expected an object`;
    const { token, type, url, source } = entry as Record<string, unknown>;
    if (typeof token !== 'string' || token.length === 0) return `[${i}].token: expected a string`;
    if (typeof type !== 'string') return `[${i}].type: expected a string`;
    if (url !== undefined && typeof url !== 'string') return `[${i}].url: expected a string`;
    if (source !== undefined && typeof source !== 'string') return `[${i}].source: expected a string`;
    matches.push({ token, type });
  }
  return matches;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
