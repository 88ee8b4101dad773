import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateToken } from '../tokens/format.js';
import { containsDecodedToken, decodeAt, decodedChar, nextIndex } from './decoded-text.js';

const TOKEN = generateToken('fine_grained');
const CLASSIC = generateToken('classic');
/** Same shape as `TOKEN`, wrong checksum. */
const LOOKALIKE = TOKEN.slice(0, -1) + (TOKEN.endsWith('A') ? 'B' : 'A');

function percentEncodeAll(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += `%${text.charCodeAt(i).toString(16).padStart(2, '0')}`;
  return out;
}

/** `[char, next]` of the character decoded at `raw[i]`. */
function decoded(raw: string, i: number, end: number, plusIsSpace: boolean): [string, number] {
  const packed = decodeAt(raw, i, end, plusIsSpace);
  return [String.fromCharCode(decodedChar(packed)), nextIndex(packed)];
}

describe('decodeAt', () => {
  it.each<[string, number, number, boolean, string, number]>([
    ['a', 0, 1, false, 'a', 1],
    ['%41', 0, 3, false, 'A', 3],
    ['%7e', 0, 3, false, '~', 3],
    ['%7E', 0, 3, false, '~', 3],
    ['%e9', 0, 3, false, '\u00e9', 3],
    ['a%2Fb', 1, 5, false, '/', 4],
    ['+', 0, 1, true, ' ', 1],
    ['+', 0, 1, false, '+', 1],
    ['%2B', 0, 3, true, '+', 3],
    ['%4', 0, 2, false, '%', 1],
    ['%zz', 0, 3, false, '%', 1],
    ['%4g', 0, 3, false, '%', 1],
    // A triplet that runs past `end` is not decoded.
    ['%41', 0, 2, false, '%', 1],
    ['x%41', 1, 3, false, '%', 2],
  ])('decodeAt(%j, %d, %d, plusIsSpace %s) is %j, next %d', (raw, i, end, plus, char, next) => {
    expect(decoded(raw, i, end, plus)).toEqual([char, next]);
  });

  it('walks a string one decoded character at a time', () => {
    const raw = 'a%20b+c%zz';
    let text = '';
    for (let i = 0; i < raw.length; ) {
      const packed = decodeAt(raw, i, raw.length, true);
      text += String.fromCharCode(decodedChar(packed));
      i = nextIndex(packed);
    }
    expect(text).toBe('a b c%zz');
  });

  it('property: agrees with decodeURIComponent on ASCII text', () => {
    const ascii = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    });
    fc.assert(
      fc.property(ascii, (text) => {
        const raw = encodeURIComponent(text);
        let out = '';
        for (let i = 0; i < raw.length; ) {
          const packed = decodeAt(raw, i, raw.length, false);
          out += String.fromCharCode(decodedChar(packed));
          i = nextIndex(packed);
        }
        expect(out).toBe(text);
      }),
    );
  });
});

describe('containsDecodedToken', () => {
  const whole = (raw: string, plusIsSpace = false): boolean =>
    containsDecodedToken(raw, 0, raw.length, plusIsSpace);

  it.each([
    ['as written', `/repos/${TOKEN}`],
    ['a classic token', `/repos/${CLASSIC}`],
    ['at the start', `${TOKEN}/x`],
    ['at the end, glued to other text', `/x${TOKEN}`],
    ['its first character encoded', `/repos/%70${TOKEN.slice(1)}`],
    ['its "_" encoded, upper-case hex', `/repos/${TOKEN.replace('_', '%5F')}`],
    ['its "_" encoded, lower-case hex', `/repos/${TOKEN.replace('_', '%5f')}`],
    [
      'its last character encoded',
      `/repos/${TOKEN.slice(0, -1)}%${TOKEN.charCodeAt(TOKEN.length - 1).toString(16)}`,
    ],
    ['wholly encoded', `/repos/${percentEncodeAll(TOKEN)}`],
    ['after a lookalike', `/${LOOKALIKE}/${TOKEN}`],
  ])('finds a token %s', (_label, raw) => {
    expect(whole(raw)).toBe(true);
  });

  it.each([
    ['no "_" and no "%"', '/repos/acme/api'],
    ['a lookalike', `/repos/${LOOKALIKE}`],
    ['an encoded lookalike', `/repos/${percentEncodeAll(LOOKALIKE)}`],
    ['an upper-case prefix', `/repos/PGT_${TOKEN.slice(4)}`],
    ['a token cut short', `/repos/${TOKEN.slice(0, -1)}`],
    ['an encoded token cut short', `/repos/${percentEncodeAll(TOKEN.slice(0, -1))}`],
  ])('finds none in %s', (_label, raw) => {
    expect(whole(raw)).toBe(false);
  });

  it('looks only inside [start, end)', () => {
    const raw = `a=1&b=${TOKEN}&c=2`;
    const at = raw.indexOf(TOKEN);
    expect(containsDecodedToken(raw, at, at + TOKEN.length, true)).toBe(true);
    expect(containsDecodedToken(raw, 0, at, true)).toBe(false);
    expect(containsDecodedToken(raw, at + TOKEN.length, raw.length, true)).toBe(false);
    // A token cut by `end` is not a token.
    expect(containsDecodedToken(raw, 0, at + TOKEN.length - 1, true)).toBe(false);
    expect(containsDecodedToken(raw, at + 1, raw.length, true)).toBe(false);
  });

  it('property: finds a token, encoded or not, wherever it is embedded', () => {
    const safe = fc.string({ unit: fc.constantFrom('a', 'b', '/', '-', '.', '=', '&', '%', '2', '_') });
    const form = fc.constantFrom(TOKEN, CLASSIC, percentEncodeAll(TOKEN), `%70${TOKEN.slice(1)}`);
    fc.assert(
      fc.property(safe, form, safe, (before, token, after) => {
        const raw = before + token + after;
        expect(containsDecodedToken(raw, 0, raw.length, false)).toBe(true);
      }),
    );
  });
});
