import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASE62_ALPHABET } from './base62.js';
import {
  generateToken,
  generateTokenId,
  hashToken,
  isTokenId,
  parseToken,
  TOKEN_LENGTH,
  TOKEN_PREFIX,
} from './format.js';

const KINDS = ['fine_grained', 'classic'] as const;

/** Replaces the character at `i` with a different base62 character. */
function flipAt(token: string, i: number, shift: number): string {
  const c = token.charAt(i);
  const at = BASE62_ALPHABET.indexOf(c);
  const replacement =
    at < 0
      ? c === 'x'
        ? 'y'
        : 'x'
      : BASE62_ALPHABET.charAt((at + 1 + (shift % (BASE62_ALPHABET.length - 1))) % BASE62_ALPHABET.length);
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

describe('generateToken / parseToken', () => {
  it.each(KINDS)('round-trips a %s token', (kind) => {
    const token = generateToken(kind);
    expect(token).toHaveLength(40);
    expect(TOKEN_LENGTH).toBe(40);
    expect(token.startsWith(TOKEN_PREFIX[kind])).toBe(true);
    expect(token.slice(4)).toMatch(/^[0-9A-Za-z]{36}$/);
    expect(parseToken(token)).toEqual({ ok: true, kind });
  });

  it('produces distinct tokens', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateToken('fine_grained')));
    expect(seen.size).toBe(1000);
  });

  it('fails when any one character changes, prefix included', () => {
    const token = generateToken('fine_grained');
    for (let i = 0; i < token.length; i++) {
      for (let shift = 0; shift < 61; shift += 7) {
        expect(parseToken(flipAt(token, i, shift)), `position ${i} shift ${shift}`).toEqual({ ok: false });
      }
    }
  });

  it('refuses a token whose prefix was swapped for the other kind', () => {
    const token = generateToken('fine_grained');
    expect(parseToken(`pgc_${token.slice(4)}`)).toEqual({ ok: false });
  });

  it.each([
    ['empty', ''],
    ['too short', 'pgt_abc'],
    ['unknown prefix', `ghp_${'a'.repeat(36)}`],
    ['upper-case prefix', 'PGT_'],
  ])('refuses %s', (_label, text) => {
    expect(parseToken(text)).toEqual({ ok: false });
  });

  it('refuses wrong lengths and foreign characters around a valid token', () => {
    const token = generateToken('classic');
    expect(parseToken(`${token}a`)).toEqual({ ok: false });
    expect(parseToken(token.slice(0, -1))).toEqual({ ok: false });
    expect(parseToken(` ${token.slice(1)}`)).toEqual({ ok: false });
    for (const bad of ['-', '_', '=', '+', '/', ' ', 'é', '\u0000', '\u{1F600}'.charAt(0)]) {
      expect(parseToken(`${token.slice(0, 10)}${bad}${token.slice(11)}`)).toEqual({ ok: false });
      expect(parseToken(`${token.slice(0, 39)}${bad}`)).toEqual({ ok: false });
    }
  });

  it('refuses a non-canonical checksum encoding (value + 2^32)', () => {
    const token = generateToken('fine_grained');
    let value = 0;
    for (const c of token.slice(34)) value = value * 62 + BASE62_ALPHABET.indexOf(c);
    let alias = value + 2 ** 32;
    let encoded = '';
    for (let i = 0; i < 6; i++) {
      encoded = BASE62_ALPHABET.charAt(alias % 62) + encoded;
      alias = Math.floor(alias / 62);
    }
    expect(parseToken(token.slice(0, 34) + encoded)).toEqual({ ok: false });
  });

  it('draws every base62 character, roughly uniformly', () => {
    const counts = new Map<string, number>();
    const n = 2000;
    for (let i = 0; i < n; i++) {
      for (const c of generateToken('classic').slice(4, 34)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    const expected = (n * 30) / 62;
    for (const [c, count] of counts) {
      // ~968 expected per character; a biased `% 62` would skew the first 8 by ~25%.
      expect(Math.abs(count - expected) / expected, c).toBeLessThan(0.2);
    }
  });

  it('property: generated tokens always parse', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), (kind) => {
        expect(parseToken(generateToken(kind))).toEqual({ ok: true, kind });
      }),
      { numRuns: 500 },
    );
  });

  it('property: random strings are not accepted', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        expect(parseToken(s).ok).toBe(false);
      }),
    );
  });

  it('property: random well-shaped strings almost never pass the checksum', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(TOKEN_PREFIX)),
        fc.string({ unit: fc.constantFrom(...BASE62_ALPHABET), minLength: 36, maxLength: 36 }),
        (prefix, rest) => {
          if (parseToken(prefix + rest).ok) accepted++;
        },
      ),
      { numRuns: 5000 },
    );
    // The chance of one acceptance in 5000 runs is about 5000 / 2^32.
    expect(accepted).toBe(0);
  });

  it('never throws on odd input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(parseToken(value as string).ok).toBe(false);
      }),
    );
  });
});

describe('hashToken', () => {
  it('is stable lower-case SHA-256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const token = generateToken('fine_grained');
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).toBe(hashToken(token));
    expect(hashToken(token)).not.toBe(hashToken(generateToken('fine_grained')));
  });
});

describe('generateTokenId / isTokenId', () => {
  it('generates ids that isTokenId accepts', () => {
    for (let i = 0; i < 200; i++) {
      const id = generateTokenId();
      expect(id).toMatch(/^tok_[0-9a-hjkmnp-tv-z]{20}$/);
      expect(isTokenId(id)).toBe(true);
    }
  });

  it('uses all 32 characters of its alphabet', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of generateTokenId().slice(4)) seen.add(c);
    expect(seen.size).toBe(32);
  });

  it.each([
    '',
    'tok_',
    'tok_0123456789abcdefghj',
    'tok_0123456789abcdefghjkm',
    'tok_0123456789abcdefghjI',
    'tok_0123456789abcdefghjl',
    'tok_0123456789abcdefghjo',
    'tok_0123456789abcdefghju',
    'TOK_0123456789abcdefghjk',
    'tik_0123456789abcdefghjk',
  ])('refuses %j', (text) => {
    expect(isTokenId(text)).toBe(false);
  });
});
