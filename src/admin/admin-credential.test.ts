import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adminCredentialWeakness, shortestPeriod } from './admin-credential.js';

describe('adminCredentialWeakness', () => {
  it.each([
    ['empty', '', /empty/],
    ['short', 'Zq8-kLm3Vx0pR7tY2wNa9cUe', /24 characters long; at least 32/],
    ['31 characters', 'Zq8kLm3Vx0pR7tY2wNa9cUe4Hs6Jd1B', /31 characters long/],
    ['one character repeated', 'a'.repeat(40), /repeats a 1-character unit/],
    ['a short unit repeated', 'abc1'.repeat(10), /repeats a 4-character unit/],
    ['a unit repeated with a partial tail', `${'xY9'.repeat(13)}x`, /repeats a 3-character unit/],
    ['a secret pasted twice', 'Zq8kLm3Vx0pR7tY2wNa9cUe4'.repeat(2), /repeats a 24-character unit/],
    ['few distinct characters', 'abababbbaabaabbbabaabbabaaabbbab', /only 2 distinct characters/],
    ['seven distinct characters', 'abcdefggabcdeffgabcdeefgabcddefgab', /only 7 distinct characters/],
    ['a space', 'Zq8kLm3Vx0pR7tY2 wNa9cUe4Hs6Jd1Bf', /spaces, control or non-ASCII/],
    ['a newline', 'Zq8kLm3Vx0pR7tY2wNa9cUe4Hs6Jd1Bf\n', /spaces, control or non-ASCII/],
    ['non-ASCII', 'Zq8kLm3Vx0pR7tY2wNa9cUe4Hs6Jd1Bfé', /spaces, control or non-ASCII/],
  ])('refuses %s', (_name, value, says) => {
    const line = adminCredentialWeakness(value);
    expect(line).toMatch(says);
    expect(line).toMatch(/^PATGATE_ADMIN_TOKEN /);
    // It says how to make a good one, on one line.
    expect(line).toContain('openssl rand -base64 33');
    expect(line).toContain("randomBytes(32).toString('base64url')");
    expect(line).not.toContain('\n');
  });

  it('never echoes the refused value', () => {
    const secret = 'Zq8kLm3Vx0pR7tY2wNa9cUe4';
    expect(adminCredentialWeakness(secret.repeat(2))).not.toContain(secret.slice(0, 6));
    expect(adminCredentialWeakness(secret)).not.toContain(secret.slice(0, 6));
  });

  it('accepts an unset credential (then only org admins can call)', () => {
    expect(adminCredentialWeakness(undefined)).toBeNull();
  });

  it('accepts what the README and the message say to use', () => {
    for (let i = 0; i < 200; i++) {
      for (const value of [
        randomBytes(33).toString('base64'),
        randomBytes(32).toString('base64url'),
        randomBytes(24).toString('hex'),
      ]) {
        expect(adminCredentialWeakness(value), value).toBeNull();
      }
    }
  });

  it('accepts random hex of the minimum length (a fixed seed: 32 hex digits rarely use fewer than 8)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{32}$/), (value) => adminCredentialWeakness(value) === null),
      { seed: 20250601, numRuns: 500 },
    );
  });

  it('accepts the test and soak credentials', () => {
    expect(adminCredentialWeakness('test-admin-token-0123456789abcdef')).toBeNull();
    expect(adminCredentialWeakness('soak-admin-token-0123456789abcdef')).toBeNull();
  });
});

describe('shortestPeriod', () => {
  it.each([
    ['', 0],
    ['a', 1],
    ['aaaa', 1],
    ['abab', 2],
    ['ababa', 2],
    ['abcab', 3],
    ['abcd', 4],
    ['aabaab', 3],
    ['abaab', 3],
  ])('%j has period %i', (value, period) => {
    expect(shortestPeriod(value)).toBe(period);
  });

  it('agrees with the definition on random strings over a small alphabet', () => {
    const byDefinition = (s: string): number => {
      for (let p = 1; p < s.length; p++) {
        let ok = true;
        for (let i = 0; i + p < s.length; i++) if (s[i] !== s[i + p]) ok = false;
        if (ok) return p;
      }
      return s.length;
    };
    fc.assert(fc.property(fc.stringMatching(/^[ab]{0,24}$/), (s) => shortestPeriod(s) === byDefinition(s)));
  });
});
