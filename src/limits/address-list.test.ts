import { describe, expect, it } from 'vitest';
import { AddressList } from './address-list.js';

describe('AddressList', () => {
  const list = new AddressList(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32']);
  const cases: [string, boolean][] = [
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    ['::1', false],
    ['not an address', false],
    ['', false],
  ];
  for (const [address, allowed] of cases) {
    it(`${allowed ? 'allows' : 'refuses'} ${JSON.stringify(address)}`, () => {
      expect(list.allows(address)).toBe(allowed);
      // The remembered answer is the same answer.
      expect(list.allows(address)).toBe(allowed);
    });
  }
  it('allows nothing when empty, or when an entry does not parse', () => {
    expect(new AddressList([]).allows('10.0.0.1')).toBe(false);
    expect(new AddressList(['10.0.0.0/99']).allows('10.0.0.1')).toBe(false);
  });
  it('matches IPv6 loopback only with an IPv6 block', () => {
    expect(new AddressList(['::1/128']).allows('::1')).toBe(true);
    expect(new AddressList(['127.0.0.0/8']).allows('127.0.0.1')).toBe(true);
  });
});
