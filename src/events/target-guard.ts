import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * The SSRF guard for webhook targets: loopback, private (RFC 1918, RFC 4193),
 * link-local (RFC 3927, RFC 4291; cloud metadata lives at 169.254.169.254),
 * shared (RFC 6598), unspecified, multicast and reserved addresses are refused.
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

export class BlockedTargetError extends Error {
  readonly code = 'PATGATE_WEBHOOK_TARGET_BLOCKED';
  constructor(readonly address: string) {
    super(`webhook target address ${address} is loopback, private or link-local`);
    this.name = 'BlockedTargetError';
  }
}

/** True for an address a webhook may not reach. IPv4-mapped IPv6 is judged as the IPv4 it carries. */
export function isBlockedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return BLOCKED.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A `lookup` for net.connect that resolves every address of the host and refuses
 * the connection if any is blocked, so that what is checked is what is dialled
 * (no DNS rebinding between a check and the connect).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const blocked = addresses.find((a) => isBlockedAddress(a.address));
    if (blocked !== undefined) return callback(new BlockedTargetError(blocked.address), '', 0);
    if ((options as { all?: boolean }).all === true) {
      (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return;
    }
    const first = addresses[0];
    if (first === undefined) return callback(new Error(`no address for ${hostname}`), '', 0);
    callback(null, first.address, first.family);
  });
};

/** Resolves the URL's host and refuses it if any address is blocked (at subscription time). */
export async function checkTarget(url: string): Promise<void> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) {
    if (isBlockedAddress(host)) throw new BlockedTargetError(host);
    return;
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, a) => (err ? reject(err) : resolve(a))),
  );
  const blocked = addresses.find((a) => isBlockedAddress(a.address));
  if (blocked !== undefined) throw new BlockedTargetError(blocked.address);
}
