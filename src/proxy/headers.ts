/** What the gateway knows about a request that the upstream must learn from headers it can trust. */
export interface UpstreamHeaderContext {
  user: string;
  /** `null` on public routes: no token was used, so no identity headers are sent. */
  tokenId: string | null;
  clientIp: string;
  proto: 'http' | 'https';
  /** The client's `Host`, if it sent one. */
  host: string | undefined;
}

// RFC 9110 §7.6.1: connection-specific fields, meaningful for one hop only. `proxy-connection` is
// the pre-standard spelling some clients still send.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
] as const;

const DROPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set<string>([
  ...HOP_BY_HOP,
  // The token stops here: it must never reach the upstream (CONTRACT: "Authorization removed").
  // RFC 9110 §11.7.2: Proxy-Authorization is consumed by the proxy it is addressed to.
  'authorization',
  'proxy-authorization',
  // Replaced by the upstream's own authority (RFC 9112 §3.2).
  'host',
  // RFC 9110 §10.1.1: Node's server already answered `100-continue` for this hop; the expectation
  // is not the upstream's to meet (and undici refuses to send it).
  'expect',
  // Provenance is asserted by the gateway alone; a client copy would let it spoof its address,
  // scheme or authority to the upstream (RFC 7239 and its de-facto X- predecessors).
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-real-ip',
  // Honoured by some frameworks as the "real" target or method: either would let the upstream act
  // on a path or method other than the one that was authorized.
  'x-original-url',
  'x-rewrite-url',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set<string>([
  ...HOP_BY_HOP,
  // RFC 9110 §11.7.1: addressed to the next outbound client, which is the gateway itself.
  'proxy-authenticate',
]);

// The gateway owns this namespace in both directions: clients must not assert an identity, and an
// upstream must not shadow the headers the gateway adds to the response.
const GATEWAY_PREFIX = 'x-patgate-';

/**
 * Request headers for the upstream, as a flat `[name, value, ...]` list for undici, from Node's
 * `req.rawHeaders`. Client names keep their spelling; repeated fields keep their order.
 */
export function buildUpstreamHeaders(
  rawHeaders: readonly string[],
  context: UpstreamHeaderContext,
  upstreamHost: string,
): string[] {
  const out: string[] = ['host', upstreamHost];
  let connectionOptions: Set<string> | null = null;
  let sawContentLength = false;

  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      connectionOptions = addConnectionOptions(connectionOptions, rawHeaders[i + 1] as string);
      continue;
    }
    if (DROPPED_REQUEST_HEADERS.has(lower) || lower.startsWith(GATEWAY_PREFIX)) continue;
    if (lower === 'content-length') {
      // Node already rejected conflicting values; a repeat of the same value would make undici throw.
      if (sawContentLength) continue;
      sawContentLength = true;
    }
    out.push(name, rawHeaders[i + 1] as string);
  }

  const headers = connectionOptions === null ? out : withoutNamed(out, connectionOptions, 2);

  headers.push('x-forwarded-for', context.clientIp, 'x-forwarded-proto', context.proto);
  if (context.host !== undefined) headers.push('x-forwarded-host', context.host);
  if (context.tokenId !== null) {
    headers.push('x-patgate-user', context.user, 'x-patgate-token-id', context.tokenId);
  }
  return headers;
}

/**
 * Upstream response headers fit to relay to the client: a flat `[name, value, ...]` list of
 * strings (repeated `set-cookie` kept in order) without connection-specific fields.
 */
export function filterResponseHeaders(rawHeaders: readonly (Buffer | string)[]): string[] {
  const out: string[] = [];
  let connectionOptions: Set<string> | null = null;

  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    // latin1 both ways: Node writes header strings as latin1, so obs-text bytes survive untouched.
    const name = latin1(rawHeaders[i] as Buffer | string);
    const value = latin1(rawHeaders[i + 1] as Buffer | string);
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      connectionOptions = addConnectionOptions(connectionOptions, value);
      continue;
    }
    if (DROPPED_RESPONSE_HEADERS.has(lower) || lower.startsWith(GATEWAY_PREFIX)) continue;
    out.push(name, value);
  }

  return connectionOptions === null ? out : withoutNamed(out, connectionOptions, 0);
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

// RFC 9110 §7.6.1: a proxy must remove every field the Connection header names, whatever it is.
function addConnectionOptions(options: Set<string> | null, value: string): Set<string> {
  const set = options ?? new Set<string>();
  for (const token of value.split(',')) {
    const option = token.trim().toLowerCase();
    if (option !== '') set.add(option);
  }
  return set;
}

/** Drops every pair whose name is in `names`, leaving the first `keep` entries untouched. */
function withoutNamed(flat: readonly string[], names: ReadonlySet<string>, keep: number): string[] {
  const out = flat.slice(0, keep);
  for (let i = keep; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    if (!names.has(name.toLowerCase())) out.push(name, flat[i + 1] as string);
  }
  return out;
}
