import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  type RawRequest,
  type RequestReaderOptions,
  readRequest,
  type ShapeRefusal,
} from '../request/facts.js';
import type { TrustedProxies } from '../request/trusted-proxies.js';
import type { Gateway } from './pipeline.js';

export interface DecisionServerOptions {
  readonly reader: RequestReaderOptions;
  /** Only these peers' accounts of a request are believed. */
  readonly trustedProxies: TrustedProxies;
  readonly headersTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

/** Where a proxy says which request it asks about. */
type Flavour = 'nginx' | 'forward' | 'envoy';

const ENVOY_PREFIX = '/envoy';

/** Fields that describe the original request to the decision listener; never part of it. */
const DESCRIBING: Readonly<Record<Flavour, ReadonlySet<string>>> = {
  nginx: new Set(['x-original-method', 'x-original-uri']),
  forward: new Set(['x-forwarded-method', 'x-forwarded-uri', 'x-forwarded-host']),
  envoy: new Set(),
};

/**
 * The decision listener: the gateway's pipeline up to the decision, for a proxy that forwards
 * by itself. nginx `auth_request` asks at `/nginx` (`X-Original-Method`, `X-Original-URI`),
 * Traefik `forwardAuth` and Caddy `forward_auth` at `/forward` (`X-Forwarded-Method`, `-Uri`,
 * `-Host`), Envoy's HTTP `ext_authz` at `/envoy` followed by the original path. The original
 * request is rebuilt from those and the other headers, and goes through every request-shape rule
 * (`readRequest`) as if it had come to the gateway listener; only a peer in `trusted_proxies` is
 * believed. Allowed: 200 with the identity headers; refused: the gateway's own answer, with its
 * status repeated in `X-Patgate-Status`.
 */
export function createDecisionServer(gateway: Gateway, options: DecisionServerOptions): Server {
  const server = createServer(
    {
      maxHeaderSize: options.maxHeaderBytes,
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.headersTimeoutMs,
      insecureHTTPParser: false,
      requireHostHeader: false,
    },
    (req, res) => {
      const peer = req.socket.remoteAddress ?? '';
      if (!options.trustedProxies.has(peer)) {
        refuse(
          gateway,
          req,
          res,
          'untrusted_decision_peer',
          'decision requests are answered for trusted_proxies only',
        );
        return;
      }
      const original = originalRequest(req, peer);
      if (original === null) {
        refuse(
          gateway,
          req,
          res,
          'malformed_request',
          'the decision request does not say which request it is about',
        );
        return;
      }
      const read = readRequest(original, options.reader);
      if (read.kind === 'shape') gateway.refuseShape(req, res, read, 'answer');
      else gateway.answer(req, res, read);
    },
  );
  server.maxHeadersCount = 0;
  return server;
}

function refuse(
  gateway: Gateway,
  req: IncomingMessage,
  res: ServerResponse,
  reason: ShapeRefusal['reason'],
  detail: string,
): void {
  gateway.refuseShape(req, res, { kind: 'shape', reason, detail }, 'answer');
}

function flavourOf(url: string): Flavour | null {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path === '/nginx') return 'nginx';
  if (path === '/forward') return 'forward';
  if (url === ENVOY_PREFIX || url.startsWith(`${ENVOY_PREFIX}/`) || url.startsWith(`${ENVOY_PREFIX}?`))
    return 'envoy';
  return null;
}

/** The request the proxy asks about, or null when it does not say. */
function originalRequest(req: IncomingMessage, peer: string): RawRequest | null {
  const url = req.url ?? '';
  const flavour = flavourOf(url);
  if (flavour === null) return null;
  const describing = DESCRIBING[flavour];
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let method: string | undefined;
  let target: string | undefined;
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (!describing.has(lower)) {
      // The forwarded host stands for the original `Host` (Traefik, Caddy).
      if (flavour === 'forward' && lower === 'host') continue;
      headers.push(name, value);
      continue;
    }
    // A repeated describing field is no account of one request.
    if (lower.endsWith('method')) {
      if (method !== undefined) return null;
      method = value;
    } else if (lower.endsWith('host')) {
      if (host !== undefined) return null;
      host = value;
    } else {
      if (target !== undefined) return null;
      target = value;
    }
  }
  if (flavour === 'envoy') {
    method = req.method;
    const rest = url.slice(ENVOY_PREFIX.length);
    target = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
  }
  if (flavour === 'forward') {
    if (host === undefined) return null;
    headers.push('Host', host);
  }
  if (method === undefined || target === undefined) return null;
  return {
    method,
    url: target,
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    rawHeaders: headers,
    peerAddress: peer,
    expectContinue: false,
    secure: false,
  };
}
