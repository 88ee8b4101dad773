import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateToken, parseToken, TOKEN_LENGTH } from './format.js';
import { containsToken } from './scan.js';

const TOKEN = generateToken('fine_grained');
const CLASSIC = generateToken('classic');
/** Same shape as `TOKEN`, wrong checksum. */
const LOOKALIKE = TOKEN.slice(0, -1) + (TOKEN.endsWith('A') ? 'B' : 'A');

/** What `containsToken` must answer, the slow way: every window of the token's length. */
function containsTokenSlowly(text: string): boolean {
  for (let i = 0; i + TOKEN_LENGTH <= text.length; i++) {
    if (parseToken(text.slice(i, i + TOKEN_LENGTH)).ok) return true;
  }
  return false;
}

describe('containsToken', () => {
  it.each([
    ['the token alone', TOKEN],
    ['a classic token', CLASSIC],
    ['at the start of a value', `${TOKEN}; theme=dark`],
    ['in the middle of a value', `session=abc; pat=${TOKEN}; theme=dark`],
    ['at the end of a value', `Bearer ${TOKEN}`],
    ['glued to other text', `x${TOKEN}y`],
    ['after two lookalikes', `${LOOKALIKE} ${LOOKALIKE.replace('pgt_', 'pgc_')} ${TOKEN}`],
    ['right after a bare prefix', `pgt_${TOKEN}`],
    ['after underscores', `a_b_c__${TOKEN}`],
  ])('finds a token %s', (_label, text) => {
    expect(containsToken(text)).toBe(true);
  });

  it.each([
    ['empty text', ''],
    ['text shorter than a token', 'pgt_abc'],
    ['a lookalike with a wrong checksum', LOOKALIKE],
    ['an upper-case prefix', `PGT_${TOKEN.slice(4)}`],
    ['another prefix', `pgx_${TOKEN.slice(4)}`],
    ['a token cut short', TOKEN.slice(0, -1)],
    ['a token cut at its start', TOKEN.slice(1)],
    ['a percent-encoded token (only text as written is scanned)', `%70${TOKEN.slice(1)}`],
    ['no underscore at all', 'a'.repeat(100)],
  ])('finds none in %s', (_label, text) => {
    expect(containsToken(text)).toBe(false);
  });

  it('property: finds a token wherever it is embedded', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.constantFrom(TOKEN, CLASSIC), (before, after, token) => {
        expect(containsToken(before + token + after)).toBe(true);
      }),
    );
  });

  it('property: answers as a scan of every window would', () => {
    const piece = fc.constantFrom(
      TOKEN,
      LOOKALIKE,
      'pgt_',
      'pgc_',
      '_',
      'p',
      TOKEN.slice(0, 20),
      TOKEN.slice(20),
    );
    const text = fc
      .array(fc.oneof(piece, fc.string({ maxLength: 5 })), { maxLength: 8 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, (value) => {
        expect(containsToken(value)).toBe(containsTokenSlowly(value));
      }),
      { numRuns: 1000 },
    );
  });
});
