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
    ['garbage', false],
    ['', false],
    [undefined, false],
  ])('%s -> %s', (address, expected) => {
    expect(proxies.has(address)).toBe(expected);
  });

  it('answers the same for an address asked again, across more addresses than it remembers', () => {
    const memo = new TrustedProxies(['10.0.0.0/8']);
    const addresses = Array.from(
      { length: 3_000 },
      (_, i) => `${i % 2 === 0 ? 10 : 11}.0.${i >> 8}.${i & 255}`,
    );
    for (let pass = 0; pass < 2; pass++) {
      for (const [i, address] of addresses.entries()) {
        expect(memo.has(address)).toBe(i % 2 === 0);
        expect(memo.has(`::ffff:${address}`)).toBe(i % 2 === 0);
      }
    }
  });

  it('answers an address with a zone id of any length, as often as asked', () => {
    const zoned = `fe80::1%${'a'.repeat(5_000)}`;
    for (let i = 0; i < 3; i++) {
      expect(proxies.has(zoned)).toBe(false);
    }
  });

  it('trusts nobody when empty', () => {
    const none = new TrustedProxies([]);
    expect(none.has('127.0.0.1')).toBe(false);
    expect(none.has('::1')).toBe(false);
  });

  it.each(['10.0.0.0/33', 'nope', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8x', 'fd00::/129', ''])(
    'refuses %j',
    (entry) => {
      expect(() => new TrustedProxies([entry])).toThrow(RangeError);
    },
  );

  it.each([
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8::1', '2001:db8::1'],
  ])('canonical(%s) is %s', (peer, expected) => {
    expect(proxies.canonical(peer)).toBe(expected);
  });

  describe('clientOf', () => {
    it.each<[string, string, string | undefined, string]>([
      ['no chain: the peer', '10.0.0.2', undefined, '10.0.0.2'],
      ['no chain, a mapped peer: the peer, canonical', '::ffff:10.0.0.2', undefined, '10.0.0.2'],
      ['one hop', '10.0.0.2', '198.51.100.1', '198.51.100.1'],
      [
        'the nearest untrusted hop, read from the right',
        '10.0.0.2',
        '198.51.100.1, 203.0.113.9',
        '203.0.113.9',
      ],
      ['trusted hops skipped', '10.0.0.2', '198.51.100.1, 203.0.113.9, 10.0.0.1, 192.0.2.7', '203.0.113.9'],
      ['every hop trusted: the farthest', '10.0.0.2', '10.0.0.3, 10.0.0.1', '10.0.0.3'],
      ['spaces around entries', '10.0.0.2', '  198.51.100.1 ,\t10.0.0.1 ', '198.51.100.1'],
      ['a mapped hop, canonical', '10.0.0.2', '::ffff:198.51.100.1', '198.51.100.1'],
      ['a mapped trusted hop skipped', '10.0.0.2', '198.51.100.1, ::ffff:10.0.0.1', '198.51.100.1'],
      ['IPv6 hops', 'fd00::1', '2001:db8::1, fd00::2', '2001:db8::1'],
      ['garbage nearest: the peer', '10.0.0.2', '198.51.100.1, garbage', '10.0.0.2'],
      ['garbage behind a trusted hop: that hop', '10.0.0.2', 'garbage, 10.0.0.1', '10.0.0.1'],
      ['garbage behind the client: the client', '10.0.0.2', 'garbage, 198.51.100.1', '198.51.100.1'],
      ['an address with a port ends the walk', '10.0.0.2', '198.51.100.1:4711', '10.0.0.2'],
      ['a bracketed IPv6 ends the walk', '10.0.0.2', '[2001:db8::1]', '10.0.0.2'],
      ['an empty list', '10.0.0.2', '', '10.0.0.2'],
      ['an empty entry behind a trusted hop: that hop', '10.0.0.2', '198.51.100.1, , 10.0.0.1', '10.0.0.1'],
      ['a trailing comma', '10.0.0.2', '198.51.100.1,', '10.0.0.2'],
      ['a hostname', '10.0.0.2', 'unknown', '10.0.0.2'],
    ])('%s', (_label, peer, forwardedFor, expected) => {
      expect(proxies.clientOf(peer, forwardedFor)).toBe(expected);
    });

    it('never answers an address no hop or peer named', () => {
      const chain = '198.51.100.1, 10.0.0.1, garbage, 203.0.113.9, 10.0.0.3';
      const answer = proxies.clientOf('10.0.0.2', chain);
      expect([...chain.split(',').map((hop) => hop.trim()), '10.0.0.2']).toContain(answer);
      expect(answer).toBe('203.0.113.9');
    });
  });
});

describe('canonicalAddress', () => {
  it('maps IPv4-mapped IPv6 addresses to IPv4', () => {
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('::1')).toBe('::1');
    expect(canonicalAddress('::ffff:zz')).toBe('::ffff:zz');
    expect(canonicalAddress('::ffff:')).toBe('::ffff:');
  });
});
