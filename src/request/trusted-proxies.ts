import { BlockList, isIPv4, isIPv6 } from 'node:net';

const MAPPED_V4_PREFIX = '::ffff:';

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
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (family === null) throw new RangeError(`not an IP address or CIDR: ${JSON.stringify(entry)}`);
  const max = family === 'ipv4' ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
    throw new RangeError(`bad prefix length in ${JSON.stringify(entry)}`);
  }
  list.addSubnet(address, prefix, family);
}

/**
 * The peers whose `X-Forwarded-*` headers are believed (`trusted_proxies`). Built once per
 * config; `has` runs per request and costs nothing when the list is empty (the default).
 */
export class TrustedProxies {
  readonly #list: BlockList | null;

  constructor(entries: readonly string[]) {
    if (entries.length === 0) {
      this.#list = null;
      return;
    }
    const list = new BlockList();
    for (const entry of entries) addEntry(list, entry);
    this.#list = list;
  }

  get empty(): boolean {
    return this.#list === null;
  }

  /** `address` as Node reports `socket.remoteAddress`. */
  has(address: string | undefined): boolean {
    const list = this.#list;
    if (list === null || address === undefined) return false;
    const canonical = canonicalAddress(address);
    return list.check(canonical, isIPv4(canonical) ? 'ipv4' : 'ipv6');
  }
}
