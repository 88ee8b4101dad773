import { describe, expect, it } from 'vitest';
import { retryDelay } from './backoff.js';
import { BlockedTargetError, checkTarget, isBlockedAddress } from './target-guard.js';

describe('isBlockedAddress (SSRF guard)', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'not an address',
  ])('refuses %s', (address) => expect(isBlockedAddress(address)).toBe(true));

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'lets %s through',
    (address) => expect(isBlockedAddress(address)).toBe(false),
  );

  it('resolves a host name and checks every address', async () => {
    await expect(checkTarget('http://localhost:9/hook')).rejects.toBeInstanceOf(BlockedTargetError);
    await expect(checkTarget('http://[::1]:9/hook')).rejects.toBeInstanceOf(BlockedTargetError);
    await expect(checkTarget('http://169.254.169.254/latest')).rejects.toBeInstanceOf(BlockedTargetError);
  });
});

describe('retryDelay', () => {
  const options = { baseMs: 60_000, maxMs: 6 * 3_600_000 };
  it('doubles per attempt, capped, with jitter in [0.75, 1.25)', () => {
    expect(retryDelay(1, options, () => 0)).toBe(45_000);
    expect(retryDelay(3, options, () => 0.5)).toBe(240_000);
    expect(retryDelay(20, options, () => 0.999999)).toBeLessThan(6 * 3_600_000 * 1.25);
    expect(retryDelay(20, options, () => 0)).toBe(6 * 3_600_000 * 0.75);
  });
});
