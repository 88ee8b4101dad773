import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { RequestFacts } from '../request/facts.js';
import { InvalidUpstreamOptionsError } from './errors.js';
import { CLIENT_ABORTED, ForwardHandler, type ForwardSettled } from './forward-handler.js';
import { type UpstreamIdentity, upstreamRequestHeaders } from './headers.js';

export type { ForwardOutcome, ForwardSettled } from './forward-handler.js';
export type { UpstreamIdentity } from './headers.js';
export { classifyUpstreamError, type UpstreamErrorKind } from './upstream-error.js';

export interface UpstreamOptions {
  /** `http://host:port`, with at most a path prefix: forwarded paths follow it exactly as authorized. */
  url: string;
  /** Applies to waiting for response headers and to each idle gap in either body. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Upper bound on open connections to the upstream. */
  connections: number;
}

/** One authorized request, as the upstream is to receive it. */
export interface ForwardRequest {
  /** Method and query are forwarded exactly as read. */
  readonly facts: RequestFacts;
  /** The path as authorized (the request's, less `base_path`); sent after the upstream's prefix. */
  readonly path: string;
  /** Who the upstream is told made the request; null on public routes. */
  readonly identity: UpstreamIdentity | null;
  /** Sent as `X-Request-Id`, the id the access line carries. */
  readonly requestId: string;
  /** The body read by the gateway (whole, or streaming through its checks); null without one. */
  readonly body: Buffer | Readable | null;
  /** Flat `[name, value, ...]` added to the client's answer (the token's expiry). */
  readonly responseHeaders: readonly string[];
}

/** The one connection pool to the upstream, built at startup and closed on shutdown. */
export class Upstream {
  readonly #pool: Pool;
  /** The upstream URL's own path, prepended to every forwarded path (`''` for none). */
  readonly #prefix: string;

  constructor(options: UpstreamOptions) {
    const origin = parseOrigin(options.url);
    this.#prefix = origin.pathname === '/' ? '' : origin.pathname;
    requirePositiveInteger('timeoutMs', options.timeoutMs);
    requirePositiveInteger('connectTimeoutMs', options.connectTimeoutMs);
    requirePositiveInteger('connections', options.connections);
    this.#pool = new Pool(origin.origin, {
      connections: options.connections,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  /**
   * Sends the request with its body and streams the response back into `res`, then calls
   * `settled` exactly once. undici reports every failure through the handler, never by throwing;
   * a request it refuses outright (an invalid header, a closed pool) settles before this returns.
   * On `upstream_error` with `afterHeaders: false` nothing was written to `res`, so the caller
   * answers 502/504; with `afterHeaders: true` the client connection has been cut.
   *
   * A callback rather than a promise: this runs once per proxied request, and the gateway's
   * cache-hit path stays synchronous up to here. The upstream's `Host` is the pool's own origin,
   * written by undici.
   */
  forward(res: ServerResponse, request: ForwardRequest, settled: ForwardSettled): void {
    // The client left while the request waited (on a store lookup or its body): its 'close' has
    // fired already, so a handler would never hear of it, and a destroyed response emits nothing more.
    if (res.destroyed) {
      settled(CLIENT_ABORTED);
      return;
    }
    const { facts, identity } = request;
    this.#pool.dispatch(
      {
        path: this.#prefix + request.path + facts.query,
        method: facts.method,
        headers: upstreamRequestHeaders(facts, identity, request.requestId),
        body: request.body,
      },
      new ForwardHandler(res, request.responseHeaders, settled),
    );
  }

  /** Lets in-flight requests finish, then closes every upstream connection. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** `/` alone, or segments of plain path characters with no `.`/`..` segment and no trailing `/`. */
const PATH_PREFIX = /^(\/|(\/(?!\.\.?(\/|$))[A-Za-z0-9._~!$&'()*+,=:@-]+)+)$/;

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
  if (parsed.search !== '' || parsed.hash !== '' || !PATH_PREFIX.test(parsed.pathname)) {
    throw new InvalidUpstreamOptionsError(
      'url: must be scheme://host[:port] with at most a path prefix (no query, no trailing "/"); the authorized path is forwarded after it unchanged',
    );
  }
  return parsed;
}

function requirePositiveInteger(name: keyof UpstreamOptions, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidUpstreamOptionsError(`${name}: must be a positive integer, got ${String(value)}`);
  }
}
