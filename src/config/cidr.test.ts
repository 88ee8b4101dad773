import { describe, expect, it } from 'vitest';
import { type Cidr, parseCidr } from './cidr.js';

describe('parseCidr', () => {
  const accepted: [string, Cidr][] = [
    ['10.0.0.0/8', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['0.0.0.0/0', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
    ['192.168.1.7/32', { address: '192.168.1.7', prefix: 32, family: 'ipv4' }],
    ['192.168.1.7', { address: '192.168.1.7', prefix: 32, family: 'ipv4' }],
    // Bits past the prefix: the same block as 10.0.0.0/8, as BlockList reads it.
    ['10.0.0.1/8', { address: '10.0.0.1', prefix: 8, family: 'ipv4' }],
    ['fd00::/8', { address: 'fd00::', prefix: 8, family: 'ipv6' }],
    ['::1', { address: '::1', prefix: 128, family: 'ipv6' }],
    ['::1/128', { address: '::1', prefix: 128, family: 'ipv6' }],
    ['::/0', { address: '::', prefix: 0, family: 'ipv6' }],
    ['::ffff:10.0.0.1/128', { address: '::ffff:10.0.0.1', prefix: 128, family: 'ipv6' }],
    ['2001:DB8::/32', { address: '2001:DB8::', prefix: 32, family: 'ipv6' }],
  ];
  for (const [text, expected] of accepted) {
    it(`reads ${JSON.stringify(text)}`, () => {
      expect(parseCidr(text)).toEqual(expected);
    });
  }

  const refused: [string, string][] = [
    ['10.0.0.0/33', 'an IPv4 prefix past 32'],
    ['::1/129', 'an IPv6 prefix past 128'],
    ['1.2.3.4/', 'an empty prefix'],
    ['1.2.3.4/08', 'a leading zero (decimal or octal?)'],
    ['1.2.3.4/00', 'a leading zero, even for 0'],
    ['::/0128', 'a four-digit prefix'],
    ['1.2.3.4/+8', 'a sign'],
    ['1.2.3.4/-1', 'a negative prefix'],
    ['1.2.3.4/ 8', 'a space in the prefix'],
    ['1.2.3.4/8.0', 'a fraction'],
    ['1.2.3.4/0x8', 'hexadecimal'],
    ['1.2.3.4/8/8', 'two slashes'],
    [' 1.2.3.4/8', 'a leading space'],
    ['1.2.3.4 /8', 'a space before the slash'],
    ['/8', 'no address'],
    ['', 'nothing'],
    ['10.0.0/8', 'three octets'],
    ['010.0.0.0/8', 'an octet with a leading zero'],
    ['256.0.0.0/8', 'an octet past 255'],
    ['fe80::1%eth0', 'an IPv6 zone'],
    ['fe80::1%eth0/64', 'an IPv6 zone with a prefix'],
    ['localhost', 'a host name'],
    ['1.2.3.4:80', 'a port'],
    ['[::1]/128', 'brackets'],
  ];
  for (const [text, why] of refused) {
    it(`refuses ${JSON.stringify(text)}: ${why}`, () => {
      expect(parseCidr(text)).toBeNull();
    });
  }
});
