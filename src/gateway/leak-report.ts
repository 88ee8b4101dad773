import { MAX_REPORT_BYTES, type ReservedAnswer } from '../leaks/credential-revoke.js';
import { MAX_SCAN_BODY_BYTES } from '../leaks/secret-scanning.js';

/**
 * Handles a request to a public endpoint: the raw body, the client address after
 * `trusted_proxies`, and the request's end-to-end headers (`[name, value, ...]`).
 */
export type LeakReportHandler = (
  body: Buffer,
  clientAddress: string,
  headers: readonly string[],
) => Promise<ReservedAnswer>;

/** The largest report the gateway reads; past it, 413 before any parsing. */
export const MAX_LEAK_REPORT_BYTES = MAX_REPORT_BYTES;

/** A reserved path on the gateway listener: never routed, never forwarded, POST only. */
export interface PublicEndpoint {
  /** Matched against the request's path as received. */
  readonly path: string;
  /** With `compat: github`, also served here (after `base_path`): GitHub's own path. */
  readonly githubPath: string | null;
  /** The body is read whole up to this many bytes; past it, 413. */
  readonly maxBytes: number;
  /** Names the endpoint in the access log's `reason_id` of a refused answer. */
  readonly name: string;
  readonly handle: LeakReportHandler;
}

/**
 * The public endpoints that are configured: the leak report (`POST
 * /_patgate/credentials/revoke`, GitHub's `/credentials/revoke`) and GitHub's secret
 * scanning partner endpoint (`POST /_patgate/secret-scanning`).
 */
export function publicEndpoints(
  leakReports: LeakReportHandler | undefined,
  secretScanning: LeakReportHandler | undefined,
): PublicEndpoint[] {
  const endpoints: PublicEndpoint[] = [];
  if (leakReports !== undefined) {
    endpoints.push({
      path: '/_patgate/credentials/revoke',
      githubPath: '/credentials/revoke',
      maxBytes: MAX_LEAK_REPORT_BYTES,
      name: 'leak_report',
      handle: leakReports,
    });
  }
  if (secretScanning !== undefined) {
    endpoints.push({
      path: '/_patgate/secret-scanning',
      githubPath: null,
      maxBytes: MAX_SCAN_BODY_BYTES,
      name: 'secret_scanning',
      handle: secretScanning,
    });
  }
  return endpoints;
}
