import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateToken } from '../tokens/format.js';
import { checkQuery } from './query.js';

const TOKEN = generateToken('fine_grained');
const CLASSIC = generateToken('classic');

describe('checkQuery', () => {
  it.each([
    '',
    '?',
    '?a=1&b=2',
    '?state=open;page=2',
    '?method=DELETE',
    '?_methods=x',
    '?x_method=DELETE',
    '?token=abc',
    '?q=pgt_short',
    '?%zz=1&=&&',
    '?access_tokens=1',
  ])('lets %j through', (query) => {
    expect(checkQuery(query)).toEqual({ ok: true });
  });

  it.each([
    ['?_method=DELETE', 'method_override'],
    ['?a=1&_method=DELETE', 'method_override'],
    ['?a=1;_method=DELETE', 'method_override'],
    ['?_METHOD=delete', 'method_override'],
    ['?%5Fmethod=DELETE', 'method_override'],
    ['?_%6Dethod=DELETE', 'method_override'],
    // PHP turns a leading `.`, ` ` or `[` into `_` and drops leading spaces.
    ['?.method=DELETE', 'method_override'],
    ['?+_method=DELETE', 'method_override'],
    ['?%20_method=DELETE', 'method_override'],
    ['?[method=DELETE', 'method_override'],
    ['?_method', 'method_override'],
    ['?X-HTTP-Method-Override=DELETE', 'method_override'],
    ['?x-http-method=PUT', 'method_override'],
    ['?x-method-override=PUT', 'method_override'],
    ['?access_token=anything', 'token_in_query'],
    ['?ACCESS_TOKEN=x', 'token_in_query'],
    ['?access%5Ftoken=x', 'token_in_query'],
    [`?t=${TOKEN}`, 'token_in_query'],
    [`?${TOKEN}`, 'token_in_query'],
    [`?a=1&b=${CLASSIC}&c=2`, 'token_in_query'],
    [`?q=Bearer+${TOKEN}`, 'token_in_query'],
    [`?q=x${TOKEN}y`, 'token_in_query'],
    [`?t=%70gt%5F${TOKEN.slice(4)}`, 'token_in_query'],
  ])('refuses %j (%s)', (query, reason) => {
    const result = checkQuery(query);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('does not take a token with a wrong checksum for one', () => {
    const altered = `${TOKEN.slice(0, -1)}${TOKEN.endsWith('A') ? 'B' : 'A'}`;
    expect(checkQuery(`?t=${altered}`)).toEqual({ ok: true });
  });

  it('never repeats the query in a detail', () => {
    const result = checkQuery(`?t=${TOKEN}`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).not.toContain(TOKEN);
  });

  it('property: never throws, and finds a token wherever it is put', () => {
    const part = fc.string({
      unit: fc.constantFrom('a', '=', '&', ';', '%', '2', 'F', '+', '_', 'p', 'g', 't'),
    });
    fc.assert(
      fc.property(part, part, (before, after) => {
        checkQuery(`?${before}${after}`);
        expect(checkQuery(`?${before}&${TOKEN}&${after}`).ok).toBe(false);
      }),
    );
  });
});
