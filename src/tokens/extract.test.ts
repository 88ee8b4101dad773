import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractBearer, extractBearerFromRawHeaders } from './extract.js';

const TOKEN = 'pgt_abcDEF0123456789abcdefghijklmnopqrst';

describe('extractBearer', () => {
  it.each([
    ['Bearer', `Bearer ${TOKEN}`],
    ['lower-case scheme', `bearer ${TOKEN}`],
    ['mixed-case scheme', `BeArEr ${TOKEN}`],
    ['several spaces', `Bearer    ${TOKEN}`],
    ['surrounding whitespace', ` \tBearer ${TOKEN}\t `],
    ['one-element array', [`Bearer ${TOKEN}`]],
  ])('reads a credential: %s', (_label, value) => {
    expect(extractBearer(value)).toEqual({ kind: 'bearer', token: TOKEN });
  });

  it('accepts any token68 value (the format is checked later)', () => {
    expect(extractBearer('Bearer a-b.c_d~e+f/g==')).toEqual({ kind: 'bearer', token: 'a-b.c_d~e+f/g==' });
  });

  it.each([
    ['absent', undefined],
    ['no values', []],
  ])('reports none when %s', (_label, value) => {
    expect(extractBearer(value)).toEqual({ kind: 'none' });
  });

  it.each([
    ['two headers', [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`], 'more than one Authorization header'],
    ['comma-joined', `Bearer ${TOKEN}, Bearer other`, 'Authorization header holds more than one credential'],
    ['auth-params', 'Bearer realm="x", token=y', 'Authorization header holds more than one credential'],
    ['empty', '', 'empty Authorization header'],
    ['whitespace only', '  ', 'empty Authorization header'],
    ['Basic', 'Basic dXNlcjpwYXNz', 'Authorization scheme is not Bearer'],
    ['bare token', TOKEN, 'Authorization scheme is not Bearer'],
    ['scheme glued to token', `Bearer${TOKEN}`, 'Authorization scheme is not Bearer'],
    ['tab after scheme', `Bearer\t${TOKEN}`, 'Authorization scheme is not Bearer'],
    ['scheme only', 'Bearer', 'Bearer credential is missing'],
    ['scheme and spaces', 'Bearer   ', 'Bearer credential is missing'],
    ['two words', `Bearer ${TOKEN} extra`, 'Bearer credential is not a single token68 value'],
    ['quoted', `Bearer "${TOKEN}"`, 'Bearer credential is not a single token68 value'],
    ['padding in the middle', 'Bearer ab=cd', 'Bearer credential is not a single token68 value'],
    ['only padding', 'Bearer ==', 'Bearer credential is not a single token68 value'],
    ['non-ASCII', 'Bearer tökén', 'Bearer credential is not a single token68 value'],
  ])('refuses %s', (_label, value, detail) => {
    expect(extractBearer(value)).toEqual({ kind: 'invalid', detail });
  });

  it('never repeats the header value in a detail', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4 }), (value) => {
        const result = extractBearer(value);
        if (result.kind === 'invalid') expect(result.detail).not.toContain(value.trim());
      }),
    );
  });

  it('property: a bearer result is a space-free, comma-free substring of the header', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const result = extractBearer(`Bearer ${value}`);
        if (result.kind === 'bearer') {
          expect(value).toContain(result.token);
          expect(result.token).not.toMatch(/[\s,]/);
        }
      }),
    );
  });
});

describe('extractBearerFromRawHeaders', () => {
  it.each([
    ['one header', ['Host', 'x', 'Authorization', `Bearer ${TOKEN}`], { kind: 'bearer', token: TOKEN }],
    ['any name casing', ['AUTHORIZATION', `Bearer ${TOKEN}`], { kind: 'bearer', token: TOKEN }],
    ['none', ['Host', 'x', 'Accept', '*/*'], { kind: 'none' }],
    ['empty list', [], { kind: 'none' }],
    [
      'two headers',
      ['authorization', `Bearer ${TOKEN}`, 'Authorization', `Bearer ${TOKEN}`],
      { kind: 'invalid', detail: 'more than one Authorization header' },
    ],
    ['casing counts, a near name does not', ['authorizatioN', 'x', 'authorisation', `Bearer ${TOKEN}`], null],
  ])('%s', (_label, raw, expected) => {
    const result = extractBearerFromRawHeaders(raw);
    if (expected === null)
      expect(result).toEqual({ kind: 'invalid', detail: 'Authorization scheme is not Bearer' });
    else expect(result).toEqual(expected);
  });

  it('property: the same answer as extractBearer over the distinct values Node would collect', () => {
    const name = fc.constantFrom(
      'Authorization',
      'authorization',
      'AUTHORIZATION',
      'Host',
      'X-Auth',
      'authorizatio',
    );
    const value = fc.oneof(fc.constant(`Bearer ${TOKEN}`), fc.string(), fc.constant('bearer  abc=='));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 6 }), (pairs) => {
        const raw = pairs.flat();
        const values = pairs.filter(([n]) => n.toLowerCase() === 'authorization').map(([, v]) => v);
        expect(extractBearerFromRawHeaders(raw)).toEqual(
          extractBearer(values.length === 0 ? undefined : values),
        );
      }),
    );
  });
});
