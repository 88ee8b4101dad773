import { type Credential, extractCredential, invalidCredential, NO_CREDENTIAL } from '../tokens/extract.js';
import { containsToken } from '../tokens/scan.js';
import { addConnectionOptions, withoutNamed } from './connection-options.js';
import { containsDecodedToken } from './decoded-text.js';
import { isChunkedOnly, isValidHost } from './header-values.js';
import { isValidMediaType } from './media-type.js';
import { isSupportedMethod } from './methods.js';
import { checkQuery } from './query.js';
import type { RequestRefusal } from './refusal.js';
import { checkTarget } from './target.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** What Node's parser hands over of one request, before anything reads it. */
export interface RawRequest {
  readonly method: string;
  /** The request-target as received. */
  readonly url: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** `[name, value, ...]` as received (Node's `req.rawHeaders`). */
  readonly rawHeaders: readonly string[];
  /** The TCP peer (`socket.remoteAddress`), as Node reports it. */
  readonly peerAddress: string;
  /** Node left `Expect: 100-continue` to us (`checkContinue`). */
  readonly expectContinue: boolean;
  /** The request came over TLS. */
  readonly secure: boolean;
}

export interface RequestReaderOptions {
  readonly maxTargetLength: number;
  readonly maxHeaderCount: number;
  /** Peers whose `X-Forwarded-*` are believed. */
  readonly trustedProxies: TrustedProxies;
  /** Forward client header names holding `_` (nginx's `underscores_in_headers`); off by default. */
  readonly allowUnderscores: boolean;
}

/**
 * Everything the pipeline needs of a request, read in one pass: no later step reads the raw
 * headers or `req.headers` again.
 */
export interface RequestFacts {
  readonly kind: 'facts';
  readonly method: string;
  /** Exact bytes of the path as received: what is authorized is what is forwarded. */
  readonly path: string;
  /** `''` or the exact rest of the target from `?`. */
  readonly query: string;
  /** The path holds `%2F`, which only a `{name+}` tail parameter may hold. */
  readonly encodedSlash: boolean;
  /** The client's `Host`; absent only on HTTP/1.0. */
  readonly host: string | undefined;
  readonly credential: Credential;
  readonly contentType: string | undefined;
  /** A trusted peer's well-formed `X-Request-Id`; otherwise the gateway makes one. */
  readonly requestId: string | undefined;
  /** The client's `Accept`, read only when an answer is refused (see `accept.ts`). */
  readonly accept: string | undefined;
  /** The declared `Content-Length`, or -1. */
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly expectContinue: boolean;
  /** The request came over TLS: `X-Forwarded-Proto: https` unless a trusted peer says otherwise. */
  readonly secure: boolean;
  /** The TCP peer, IPv4-mapped IPv6 folded to IPv4. */
  readonly peerAddress: string;
  /** The peer is one of `trusted_proxies`: its `X-Forwarded-*` below are believed. */
  readonly trustedPeer: boolean;
  /** Who sent the request: the peer, or the nearest untrusted hop of a trusted peer's chain. */
  readonly clientAddress: string;
  readonly forwardedFor: string | undefined;
  readonly forwardedProto: string | undefined;
  readonly forwardedHost: string | undefined;
  /**
   * The client's end-to-end headers fit for the upstream, `[name, value, ...]` in order, names
   * as spelled: no hop-by-hop field, no credential, no `Host`, no provenance or gateway-owned
   * field in any spelling.
   */
  readonly headers: readonly string[];
}

/** A request refused for its shape, before any route or token is looked at. */
export interface ShapeRefusal {
  readonly kind: 'shape';
  readonly reason: RequestRefusal;
  readonly detail: string;
}

export function hasBody(facts: RequestFacts): boolean {
  // RFC 9112 §6.3: a request has a body only with Transfer-Encoding or a non-zero Content-Length.
  return facts.chunked || facts.contentLength > 0;
}

function refused(reason: RequestRefusal, detail: string): ShapeRefusal {
  return { kind: 'shape', reason, detail };
}

enum Role {
  Host,
  TransferEncoding,
  ContentLength,
  ContentType,
  Authorization,
  Connection,
  ForwardedFor,
  ForwardedProto,
  ForwardedHost,
  RequestId,
  Accept,
  MethodOverride,
  /** Not forwarded: hop-by-hop, consumed here, or asserted by the gateway alone. */
  Drop,
}

const ROLES: ReadonlyMap<string, Role> = new Map<string, Role>([
  ['host', Role.Host],
  ['transfer-encoding', Role.TransferEncoding],
  ['content-length', Role.ContentLength],
  ['content-type', Role.ContentType],
  ['authorization', Role.Authorization],
  ['connection', Role.Connection],
  ['x-forwarded-for', Role.ForwardedFor],
  ['x-forwarded-proto', Role.ForwardedProto],
  ['x-forwarded-host', Role.ForwardedHost],
  ['accept', Role.Accept],
  // Believed from a trusted peer (the id its own logs carry); the gateway sends its own upstream.
  ['x-request-id', Role.RequestId],
  // Frameworks honour these as the request method (Express method-override, Symfony, ASP.NET,
  // Google APIs): refused rather than stripped, since the client expects another method to run.
  ['x-http-method-override', Role.MethodOverride],
  ['x-http-method', Role.MethodOverride],
  ['x-method-override', Role.MethodOverride],
  // RFC 9110 §7.6.1: connection-specific fields; `proxy-connection` is the pre-standard spelling.
  ['keep-alive', Role.Drop],
  ['proxy-connection', Role.Drop],
  ['te', Role.Drop],
  ['trailer', Role.Drop],
  ['upgrade', Role.Drop],
  // RFC 9110 §11.7.2: consumed by the proxy it is addressed to.
  ['proxy-authorization', Role.Drop],
  // RFC 9110 §10.1.1: this hop's expectation; Node or the pipeline answers it.
  ['expect', Role.Drop],
  // Provenance is asserted by the gateway alone (RFC 7239 and its de-facto X- predecessors).
  ['forwarded', Role.Drop],
  ['x-real-ip', Role.Drop],
  // Honoured by some frameworks as the "real" target: the upstream would act on another path.
  ['x-original-url', Role.Drop],
  ['x-rewrite-url', Role.Drop],
  ['x-original-uri', Role.Drop],
  // Scheme, host and client-address spellings frameworks read besides X-Forwarded-* (Rack's
  // X-Forwarded-Ssl and Front-End-Https, Rails' Client-IP, ...): every `x-forwarded-` name is
  // dropped by prefix too.
  ['x-host', Role.Drop],
  ['x-original-host', Role.Drop],
  ['x-url-scheme', Role.Drop],
  ['front-end-https', Role.Drop],
  ['client-ip', Role.Drop],
  ['true-client-ip', Role.Drop],
  ['x-client-ip', Role.Drop],
  ['x-cluster-client-ip', Role.Drop],
]);

/** What a request id may look like: a UUID, a trace id, a short token; nothing a log could trip on. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Provenance asserted by the gateway alone: no client's `X-Forwarded-*` passes as it is. */
const FORWARDED_PREFIX = 'x-forwarded-';

/** The namespace of the headers the gateway adds; no client spelling of one is forwarded. */
export const GATEWAY_HEADER_PREFIX = 'x-patgate-';

/**
 * Fields the gateway's decision or framing reads: a `Connection` header naming one would have
 * the next hop drop it after the gateway acted on it (RFC 9110 §7.6.1), so the upstream would see
 * a body without the type the form scanner assumed, or a target without the host it was told.
 */
const DECIDING_FIELDS: ReadonlySet<string> = new Set([
  'host',
  'authorization',
  'content-type',
  'content-length',
  'transfer-encoding',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
]);

/** Options that name no field the gateway forwards (and the usual ones, skipped at once). */
const NAMING_NO_FIELD: ReadonlySet<string> = new Set(['keep-alive', 'close', 'upgrade', 'te', 'trailer']);

/**
 * Reads a request once, in the order a parser meets it: version, method, target, headers, query.
 * Returns its facts, or the first reason to refuse it. llhttp has already refused malformed
 * names, bare CR/LF, obs-fold, CL+TE, conflicting or non-numeric Content-Length, and a
 * Transfer-Encoding whose last coding is not chunked; what it cannot know is checked here.
 */
export function readRequest(raw: RawRequest, options: RequestReaderOptions): RequestFacts | ShapeRefusal {
  // RFC 9110 §6.2: llhttp also parses HTTP/0.9-style and 2.x request lines as 1.x.
  if (raw.httpVersionMajor !== 1 || raw.httpVersionMinor > 1) {
    return refused('http_version', 'only HTTP/1.0 and HTTP/1.1 are served');
  }
  const { method } = raw;
  if (!isSupportedMethod(method))
    return refused('method_not_implemented', `method ${method} is not supported`);
  const target = checkTarget(raw.url, options.maxTargetLength);
  if (!target.ok) {
    return refused(target.reason === 'too_long' ? 'target_too_long' : 'bad_request_target', target.detail);
  }

  const rawHeaders = raw.rawHeaders;
  const length = rawHeaders.length;
  if (length > 2 * options.maxHeaderCount) {
    return refused('too_many_headers', `more than ${options.maxHeaderCount} header fields`);
  }
  const trustedPeer = options.trustedProxies.has(raw.peerAddress);
  const http10 = raw.httpVersionMinor === 0;
  const headers: string[] = [];
  let host: string | undefined;
  let credential: Credential = NO_CREDENTIAL;
  let sawAuthorization = false;
  let contentType: string | undefined;
  let contentLength = -1;
  let chunked = false;
  let connectionOptions: Set<string> | null = null;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let accept: string | undefined;
  let requestId: string | undefined;

  for (let i = 0; i + 1 < length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    const role = ROLES.get(lower);
    if (role === Role.Authorization) {
      // Two credentials are refused rather than one picked: the upstream might pick the other.
      credential = sawAuthorization
        ? invalidCredential('more than one Authorization header')
        : extractCredential(value);
      sawAuthorization = true;
      continue;
    }
    // A token anywhere else would reach the upstream and its logs (RFC 6750 §5.3). Every token
    // holds `_`, so a name can be one only where underscore names pass; the name is not echoed.
    if (containsToken(name)) return refused('token_outside_authorization', 'a header name is a credential');
    if (carriesToken(value)) {
      return refused('token_outside_authorization', `header ${lower} carries a credential`);
    }
    if (role !== undefined) {
      switch (role) {
        case Role.Host:
          // RFC 9112 §3.2: more than one Host is a 400; the upstream might pick the other one.
          if (host !== undefined) return refused('duplicate_host', 'more than one Host header');
          if (!isValidHost(value)) return refused('bad_host', 'the Host header is not a valid host[:port]');
          host = value;
          continue;
        case Role.TransferEncoding:
          // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means the framing is faulty.
          if (http10)
            return refused('http10_transfer_encoding', 'Transfer-Encoding is not defined for HTTP/1.0');
          // Only `chunked`, alone: llhttp accepts `gzip, chunked` or a list split over several
          // fields, and the gateway would forward a body whose coding it cannot vouch for.
          if (!isChunkedOnly(value)) {
            return refused('transfer_coding', 'only "Transfer-Encoding: chunked" is supported');
          }
          chunked = true;
          continue;
        case Role.ContentLength:
          // llhttp refused conflicting values; a repeat of the same one would make undici throw.
          if (contentLength >= 0) continue;
          contentLength = Number(value);
          break;
        case Role.ContentType:
          if (contentType !== undefined)
            return refused('bad_content_type', 'more than one Content-Type header');
          if (!isValidMediaType(value)) {
            return refused('bad_content_type', 'the Content-Type header is not one well-formed media type');
          }
          contentType = value;
          break;
        case Role.Connection:
          connectionOptions = addConnectionOptions(connectionOptions, value, NAMING_NO_FIELD);
          continue;
        case Role.ForwardedFor:
          // Repeated fields are one comma-separated list, in order (RFC 9110 §5.3).
          if (trustedPeer) forwardedFor = joinList(forwardedFor, value);
          continue;
        case Role.ForwardedProto:
          if (!trustedPeer) continue;
          if (!isProtoList(value))
            return refused('bad_host', 'X-Forwarded-Proto is not a list of http or https');
          forwardedProto = joinList(forwardedProto, value);
          continue;
        case Role.ForwardedHost:
          if (!trustedPeer) continue;
          // Relayed as the upstream's idea of its own name: held to the rules of `Host`.
          if (!isHostList(value)) return refused('bad_host', 'X-Forwarded-Host is not a list of host[:port]');
          forwardedHost = joinList(forwardedHost, value);
          continue;
        case Role.RequestId:
          if (trustedPeer && requestId === undefined && REQUEST_ID.test(value)) requestId = value;
          continue;
        case Role.Accept:
          accept = joinList(accept, value);
          break;
        case Role.MethodOverride:
          return refused('method_override', `${lower} is refused: send the real method instead`);
        case Role.Drop:
          continue;
      }
    } else if (
      lower.startsWith(GATEWAY_HEADER_PREFIX) ||
      lower.startsWith(FORWARDED_PREFIX) ||
      (lower.includes('_') && !mayForwardUnderscored(lower, options))
    ) {
      continue;
    }
    headers.push(name, value);
  }
  if (host === undefined && !http10)
    return refused('missing_host', 'an HTTP/1.1 request needs a Host header');

  let forwarded: readonly string[] = headers;
  if (connectionOptions !== null) {
    for (const option of connectionOptions) {
      if (DECIDING_FIELDS.has(option) || option.startsWith(GATEWAY_HEADER_PREFIX)) {
        return refused(
          'connection_names_end_to_end',
          `the Connection header names ${option}, which the gateway acts on`,
        );
      }
    }
    forwarded = withoutNamed(headers, connectionOptions);
  }

  if (target.query.length > 1) {
    const query = checkQuery(target.query);
    if (!query.ok) return refused(query.reason, query.detail);
  }
  if (containsDecodedToken(target.path, 0, target.path.length, false)) {
    return refused('token_outside_authorization', 'the path carries a credential');
  }

  const peer = options.trustedProxies.canonical(raw.peerAddress);
  return {
    kind: 'facts',
    method,
    path: target.path,
    query: target.query,
    encodedSlash: target.encodedSlash,
    host,
    credential,
    contentType,
    requestId,
    accept,
    contentLength,
    chunked,
    expectContinue: raw.expectContinue,
    secure: raw.secure,
    peerAddress: peer,
    trustedPeer,
    clientAddress: trustedPeer ? options.trustedProxies.clientOf(peer, forwardedFor) : peer,
    forwardedFor,
    forwardedProto,
    forwardedHost,
    headers: forwarded,
  };
}

/**
 * With `allow_underscores`, a name with `_` is forwarded unless it is a spelling of a field the
 * gateway reads or owns: WSGI and CGI stacks turn `X_Patgate_User` and `X-Patgate-User` into the
 * same variable (`HTTP_X_PATGATE_USER`).
 */
function mayForwardUnderscored(lower: string, options: RequestReaderOptions): boolean {
  if (!options.allowUnderscores) return false;
  const dashed = lower.replaceAll('_', '-');
  return (
    !ROLES.has(dashed) && !dashed.startsWith(GATEWAY_HEADER_PREFIX) && !dashed.startsWith(FORWARDED_PREFIX)
  );
}

/**
 * A token as written, or percent-encoded (cookie and form parsers decode values): the decoded
 * scan runs only on values holding a `%`.
 */
function carriesToken(value: string): boolean {
  return containsToken(value) || (value.includes('%') && containsDecodedToken(value, 0, value.length, false));
}

function isProtoList(value: string): boolean {
  for (const part of value.split(',')) {
    const proto = part.trim().toLowerCase();
    if (proto !== 'http' && proto !== 'https') return false;
  }
  return true;
}

function isHostList(value: string): boolean {
  for (const part of value.split(',')) if (!isValidHost(part.trim())) return false;
  return true;
}

function joinList(list: string | undefined, value: string): string {
  return list === undefined ? value : `${list}, ${value}`;
}
