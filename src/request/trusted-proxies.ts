import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { parseCidr } from '../config/cidr.js';

const MAPPED_V4_PREFIX = '::ffff:';
/** Addresses whose answer `TrustedProxies.has` remembers at most. */
const SEEN_MAX = 1_024;
/** The longest textual IPv6 address (an IPv4-mapped one, in full). */
const MAX_ADDRESS_LENGTH = 45;

/**
 * The peer address as one canonical string: an IPv4 client reaching a dual-stack listener shows
 * up as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), and must count as the same client, and match the
 * same IPv4 CIDRs, as `a.b.c.d`.
 */
export function canonicalAddress(address: string): string {
  if (address.length > MAPPED_V4_PREFIX.length && address.startsWith(MAPPED_V4_PREFIX)) {
    const v4 = address.slice(MAPPED_V4_PREFIX.length);
    if (isIPv4(v4)) return v4;
  }
  return address;
}

/** `a.b.c.d/n`, `v6/n` or a bare address; throws `RangeError` on anything else (the config schema checks first). */
function addEntry(list: BlockList, entry: string): void {
  const cidr = parseCidr(entry);
  if (cidr === null) throw new RangeError(`not an IP address or CIDR: ${JSON.stringify(entry)}`);
  list.addSubnet(cidr.address, cidr.prefix, cidr.family);
}

/**
 * The peers whose `X-Forwarded-*` headers are believed (`trusted_proxies`). Built once per
 * config; `has` runs per request and costs nothing when the list is empty (the default).
 */
export class TrustedProxies {
  readonly #list: BlockList | null;
  /**
   * `has` by canonical address: `BlockList.check` builds a `SocketAddress` per call (~3 µs), and
   * a proxy's few addresses ask on every request, up to three times. Emptied when full, so that
   * a stream of distinct client addresses costs a check each and no memory.
   */
  readonly #seen = new Map<string, boolean>();

  constructor(entries: readonly string[]) {
    if (entries.length === 0) {
      this.#list = null;
      return;
    }
    const list = new BlockList();
    for (const entry of entries) addEntry(list, entry);
    this.#list = list;
  }

  /** `address` as Node reports `socket.remoteAddress`. */
  has(address: string | undefined): boolean {
    const list = this.#list;
    if (list === null || address === undefined) return false;
    const canonical = canonicalAddress(address);
    const seen = this.#seen.get(canonical);
    if (seen !== undefined) return seen;
    const trusted = list.check(canonical, isIPv4(canonical) ? 'ipv4' : 'ipv6');
    // Only plain addresses are kept: an X-Forwarded-For hop may carry a zone id of any length.
    if (canonical.length > MAX_ADDRESS_LENGTH || canonical.includes('%')) return trusted;
    if (this.#seen.size >= SEEN_MAX) this.#seen.clear();
    this.#seen.set(canonical, trusted);
    return trusted;
  }

  /** The peer as one canonical address (see `canonicalAddress`). */
  canonical(peer: string): string {
    return canonicalAddress(peer);
  }

  /**
   * The client behind a trusted `peer`: the nearest hop of its `X-Forwarded-For` chain that is
   * not itself trusted, read from the right (each proxy appends the address it heard from). An
   * entry that is no IP address ends the walk: what lies left of it cannot be vouched for.
   */
  clientOf(peer: string, forwardedFor: string | undefined): string {
    let client = canonicalAddress(peer);
    if (forwardedFor === undefined) return client;
    const hops = forwardedFor.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = canonicalAddress((hops[i] as string).trim());
      if (!isIPv4(hop) && !isIPv6(hop)) return client;
      client = hop;
      if (!this.has(hop)) return client;
    }
    return client;
  }
}
