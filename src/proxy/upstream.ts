import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { InvalidUpstreamOptionsError } from './errors.js';
import { CLIENT_ABORTED, ForwardHandler, type ForwardSettled } from './forward-handler.js';

export type { ForwardOutcome, ForwardSettled } from './forward-handler.js';
export { classifyUpstreamError, type UpstreamErrorKind, upstreamErrorStatus } from './upstream-error.js';

export interface UpstreamOptions {
  /** Origin only (`http://host:port`): forwarded paths are sent exactly as authorized, never prefixed. */
  url: string;
  /** Applies to waiting for response headers and to each idle gap in either body. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Upper bound on open connections to the upstream. */
  connections: number;
}

export interface ForwardTarget {
  method: string;
  /** Path and query exactly as authorized; sent byte-for-byte. */
  path: string;
  /** Flat `[name, value, ...]` list, as built by `buildUpstreamHeaders`. */
  headers: string[];
  /** Flat `[name, value, ...]` added to the client response, e.g. `x-patgate-token-expiration`. */
  responseHeaders: readonly string[];
}

/** The one connection pool to the upstream, built at startup and closed on shutdown. */
export class Upstream {
  /** `host[:port]` of the upstream, the value for the forwarded `Host` header. */
  readonly host: string;
  readonly #pool: Pool;

  constructor(options: UpstreamOptions) {
    const origin = parseOrigin(options.url);
    requirePositiveInteger('timeoutMs', options.timeoutMs);
    requirePositiveInteger('connectTimeoutMs', options.connectTimeoutMs);
    requirePositiveInteger('connections', options.connections);
    this.host = origin.host;
    this.#pool = new Pool(origin.origin, {
      connections: options.connections,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  /**
   * Streams the request body from `req` to the upstream and the response back into `res`, then
   * calls `settled` exactly once. undici reports every failure through the handler, never by
   * throwing; a request it refuses outright (an invalid header, a closed pool) settles before this
   * returns. On `upstream_error` with `afterHeaders: false` nothing was written to `res`, so the
   * caller answers 502/504; with `afterHeaders: true` the client connection has been cut.
   *
   * A callback rather than a promise: this runs once per proxied request, and the gateway's
   * cache-hit path stays synchronous up to here.
   */
  forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget, settled: ForwardSettled): void {
    // The client left while the request waited (on a store lookup): its 'close' has fired already,
    // so a handler would never hear of it, and a destroyed response emits nothing more.
    if (res.destroyed) {
      settled(CLIENT_ABORTED);
      return;
    }
    this.#pool.dispatch(
      {
        path: target.path,
        method: target.method,
        headers: target.headers,
        body: hasRequestBody(req) ? req : null,
      },
      new ForwardHandler(res, target.responseHeaders, settled),
    );
  }

  /** Lets in-flight requests finish, then closes every upstream connection. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}

// RFC 9112 §6.3: a request carries a body only if it has Transfer-Encoding or a Content-Length.
// Passing the (empty) request stream for the rest would make undici frame a body that is not there.
function hasRequestBody(req: IncomingMessage): boolean {
  const { headers } = req;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

function parseOrigin(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidUpstreamOptionsError(`url: not a valid URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidUpstreamOptionsError(`url: scheme must be http or https, got ${parsed.protocol}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidUpstreamOptionsError('url: must not carry credentials');
  }
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
    throw new InvalidUpstreamOptionsError(
      'url: must be an origin (scheme://host[:port]); the authorized path is forwarded unchanged',
    );
  }
  return parsed;
}

function requirePositiveInteger(name: keyof UpstreamOptions, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidUpstreamOptionsError(`${name}: must be a positive integer, got ${String(value)}`);
  }
}
