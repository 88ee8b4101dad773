/** What the gateway knows about a request that the upstream must learn from headers it can trust. */
export interface UpstreamHeaderContext {
  user: string;
  /** `null` on public routes: no token was used, so no identity headers are sent. */
  tokenId: string | null;
  clientIp: string;
  proto: 'http' | 'https';
  /** The client's `Host`, if it sent one. */
  host: string | undefined;
  /**
   * The TCP peer is one of `trusted_proxies`: its `X-Forwarded-For` chain is extended with the
   * peer's address and its `X-Forwarded-Proto/-Host` are kept. Otherwise all three are replaced.
   */
  trustedPeer?: boolean;
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
  const trusted = context.trustedPeer === true;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;

  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      connectionOptions = addConnectionOptions(connectionOptions, rawHeaders[i + 1] as string);
      continue;
    }
    if (trusted) {
      // Repeated fields are one comma-separated list, in order (RFC 9110 §5.3).
      const value = rawHeaders[i + 1] as string;
      if (lower === 'x-forwarded-for') {
        forwardedFor = joinList(forwardedFor, value);
        continue;
      }
      if (lower === 'x-forwarded-proto') {
        forwardedProto = joinList(forwardedProto, value);
        continue;
      }
      if (lower === 'x-forwarded-host') {
        forwardedHost = joinList(forwardedHost, value);
        continue;
      }
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

  // Each proxy appends the address it received the request from (the de-facto XFF convention).
  headers.push(
    'x-forwarded-for',
    forwardedFor === undefined ? context.clientIp : `${forwardedFor}, ${context.clientIp}`,
    'x-forwarded-proto',
    forwardedProto ?? context.proto,
  );
  const host = forwardedHost ?? context.host;
  if (host !== undefined) headers.push('x-forwarded-host', host);
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
    // Runs on every response: most names (Date, Content-Type, ...) cannot be dropped by their
    // length alone, and are relayed without being lower-cased.
    if (mayBeDroppedResponseName(name)) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        connectionOptions = addConnectionOptions(connectionOptions, value, DROPPED_RESPONSE_HEADERS);
        continue;
      }
      if (DROPPED_RESPONSE_HEADERS.has(lower) || lower.startsWith(GATEWAY_PREFIX)) continue;
    }
    out.push(name, value);
  }

  return connectionOptions === null ? out : withoutNamed(out, connectionOptions, 0);
}

// Lower-casing keeps a latin1 string's length, so a name whose length no dropped name has, and
// that cannot start with the gateway prefix, is relayed as is.
const DROPPED_RESPONSE_NAME_LENGTHS: Uint8Array = (() => {
  const lengths = new Uint8Array(64);
  for (const name of DROPPED_RESPONSE_HEADERS) lengths[name.length] = 1;
  return lengths;
})();

function mayBeDroppedResponseName(name: string): boolean {
  const n = name.length;
  if (n < 64 && DROPPED_RESPONSE_NAME_LENGTHS[n] === 1) return true;
  return n >= GATEWAY_PREFIX.length && (name.charCodeAt(0) | 0x20) === 0x78;
}

function joinList(list: string | undefined, value: string): string {
  return list === undefined ? value : `${list}, ${value}`;
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

// RFC 9110 §7.6.1: a proxy must remove every field the Connection header names, whatever it is.
// Names in `alreadyDropped` are removed anyway, so the usual `Connection: keep-alive` needs no
// second pass over the headers.
function addConnectionOptions(
  options: Set<string> | null,
  value: string,
  alreadyDropped?: ReadonlySet<string>,
): Set<string> | null {
  let set = options;
  // Scanned in place rather than split: runs on every response (`Connection: keep-alive`).
  for (let start = 0; start <= value.length; ) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    const option = value.slice(start, end).trim().toLowerCase();
    start = end + 1;
    if (option === '' || alreadyDropped?.has(option)) continue;
    set ??= new Set<string>();
    set.add(option);
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
