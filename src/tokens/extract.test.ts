import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractBearer } from './extract.js';

const TOKEN = 'pgt_abcDEF0123456789abcdefghijklmnopqrst';

describe('extractBearer', () => {
  it.each([
    ['Bearer', `Bearer ${TOKEN}`],
    ['lower-case scheme', `bearer ${TOKEN}`],
    ['mixed-case scheme', `BeArEr ${TOKEN}`],
    ['several spaces', `Bearer    ${TOKEN}`],
    ['surrounding whitespace', ` \tBearer ${TOKEN}\t `],
  ])('reads a credential: %s', (_label, value) => {
    expect(extractBearer(value)).toEqual({ kind: 'bearer', token: TOKEN });
  });

  it('accepts any token68 value (the format is checked later)', () => {
    expect(extractBearer('Bearer a-b.c_d~e+f/g==')).toEqual({ kind: 'bearer', token: 'a-b.c_d~e+f/g==' });
  });

  // A second Authorization field never gets here: readRequest refuses it (request/facts.test.ts).
  it.each([
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
