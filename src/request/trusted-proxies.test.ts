import { describe, expect, it } from 'vitest';
import { canonicalAddress, TrustedProxies } from './trusted-proxies.js';

describe('TrustedProxies', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);

  it.each([
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['11.0.0.1', false],
    ['fd12::1', true],
    ['fe80::1', false],
    [undefined, false],
  ])('%s -> %s', (address, expected) => {
    expect(proxies.has(address)).toBe(expected);
  });

  it('trusts nobody when empty', () => {
    const none = new TrustedProxies([]);
    expect(none.empty).toBe(true);
    expect(none.has('127.0.0.1')).toBe(false);
  });

  it.each(['10.0.0.0/33', 'nope', '10.0.0.0/', '10.0.0.0/-1', 'fd00::/129'])('refuses %j', (entry) => {
    expect(() => new TrustedProxies([entry])).toThrow(RangeError);
  });

  it('maps IPv4-mapped IPv6 addresses to IPv4', () => {
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('::1')).toBe('::1');
    expect(canonicalAddress('::ffff:zz')).toBe('::ffff:zz');
  });
});
