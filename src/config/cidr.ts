import { isIPv4, isIPv6 } from 'node:net';

/** An address block: `address` as written, `prefix` its length in bits. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Parses `a.b.c.d/n`, `v6/n`, or a bare address (the block of that one address: /32 or
 * /128). Null for anything else. One parser for the config schema and for the list the
 * gateway builds, so an entry the schema accepts is the entry the gateway trusts.
 *
 * Refused rather than read some way: a prefix with a leading zero (`/08`: decimal or
 * octal?), a sign or spaces; an IPv6 zone (`fe80::1%eth0`: a block list would drop the
 * zone and trust that address on every interface). Bits set past the prefix
 * (`10.0.0.1/8`) are accepted: the block is the same as `10.0.0.0/8`, as Node's
 * `BlockList.addSubnet` reads it.
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  if (address.includes('%')) return null;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (family === null) return null;
  const max = family === 'ipv4' ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const prefix = parsePrefix(text.slice(slash + 1));
  return prefix === null || prefix > max ? null : { address, prefix, family };
}

/** A decimal of one to three digits without a leading zero (`0` itself is fine). */
function parsePrefix(text: string): number | null {
  if (text.length === 0 || text.length > 3 || (text.length > 1 && text.charCodeAt(0) === 0x30)) return null;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  return value;
}
