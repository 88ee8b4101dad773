import { addConnectionOptions, withoutNamed } from '../request/connection-options.js';
import { GATEWAY_HEADER_PREFIX, type RequestFacts } from '../request/facts.js';

/** Who the upstream is told made the request (a token's holder); null on public routes. */
export interface UpstreamIdentity {
  readonly user: string;
  readonly tokenId: string;
  /** The signed identity assertion and its header (`identity_assertion`), when configured. */
  readonly assertion?: { readonly header: string; readonly value: string };
}

// RFC 9110 §7.6.1: connection-specific fields, meaningful for one hop only.
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
] as const;

const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set<string>([
  ...HOP_BY_HOP,
  // RFC 9110 §11.7.1: addressed to the next outbound client, which is the gateway itself.
  'proxy-authenticate',
  // About the token, which only the gateway knows (`compat: github` sets its own).
  'github-authentication-token-expiration',
  // The gateway answers with the request's id, the one its access line and the upstream saw.
  'x-request-id',
]);

/**
 * Request headers for the upstream, as a flat `[name, value, ...]` list for undici: the client's
 * end-to-end fields as `request/facts.ts` kept them, then what the gateway asserts. No `Host`:
 * undici writes the upstream's own (RFC 9112 §3.2).
 */
export function upstreamRequestHeaders(
  facts: RequestFacts,
  identity: UpstreamIdentity | null,
  requestId?: string,
): string[] {
  const client = facts.peerAddress;
  // Each proxy appends the address it received the request from (the de-facto XFF convention);
  // a trusted peer's own chain and scheme are kept, anyone else's were dropped.
  const forwardedFor = facts.forwardedFor === undefined ? client : `${facts.forwardedFor}, ${client}`;
  const extra = [
    'x-forwarded-for',
    forwardedFor,
    'x-forwarded-proto',
    facts.forwardedProto ?? (facts.secure ? 'https' : 'http'),
  ];
  const host = facts.forwardedHost ?? facts.host;
  if (host !== undefined) extra.push('x-forwarded-host', host);
  if (requestId !== undefined) extra.push('x-request-id', requestId);
  if (identity !== null) {
    extra.push('x-patgate-user', identity.user, 'x-patgate-token-id', identity.tokenId);
    if (identity.assertion !== undefined) extra.push(identity.assertion.header, identity.assertion.value);
  }
  return facts.headers.concat(extra);
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
      if (DROPPED_RESPONSE_HEADERS.has(lower) || lower.startsWith(GATEWAY_HEADER_PREFIX)) continue;
    }
    out.push(name, value);
  }

  return connectionOptions === null ? out : withoutNamed(out, connectionOptions);
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
  return n >= GATEWAY_HEADER_PREFIX.length && (name.charCodeAt(0) | 0x20) === 0x78;
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}
