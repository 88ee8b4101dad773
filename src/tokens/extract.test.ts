import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractCredential } from './extract.js';

const TOKEN = 'pgt_abcDEF0123456789abcdefghijklmnopqrst';

describe('extractCredential', () => {
  it.each([
    ['Bearer', `Bearer ${TOKEN}`],
    ['lower-case scheme', `bearer ${TOKEN}`],
    ['mixed-case scheme', `BeArEr ${TOKEN}`],
    ['several spaces', `Bearer    ${TOKEN}`],
    ['surrounding whitespace', ` \tBearer ${TOKEN}\t `],
    ["GitHub's token scheme", `token ${TOKEN}`],
    ['token scheme, upper case', `TOKEN ${TOKEN}`],
    ['Basic, the token as password', `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`],
    ['Basic, any user, basic lower-case', `basic ${Buffer.from(`alice:${TOKEN}`).toString('base64')}`],
  ])('reads a credential: %s', (_label, value) => {
    expect(extractCredential(value)).toEqual({ kind: 'token', token: TOKEN });
  });

  it('accepts any token68 value (the format is checked later)', () => {
    expect(extractCredential('Bearer a-b.c_d~e+f/g==')).toEqual({ kind: 'token', token: 'a-b.c_d~e+f/g==' });
  });

  // A second Authorization field never gets here: readRequest refuses it (request/facts.test.ts).
  it.each([
    ['comma-joined', `Bearer ${TOKEN}, Bearer other`, 'Authorization header holds more than one credential'],
    ['auth-params', 'Bearer realm="x", token=y', 'Authorization header holds more than one credential'],
    ['empty', '', 'empty Authorization header'],
    ['whitespace only', '  ', 'empty Authorization header'],
    ['Digest', 'Digest username="x"', 'Authorization scheme is not Bearer, token or Basic'],
    ['bare token', TOKEN, 'Authorization scheme is not Bearer, token or Basic'],
    ['scheme glued to token', `Bearer${TOKEN}`, 'Authorization scheme is not Bearer, token or Basic'],
    ['tab after scheme', `Bearer\t${TOKEN}`, 'Authorization scheme is not Bearer, token or Basic'],
    ['scheme only', 'Bearer', 'the credential after the scheme is missing'],
    ['scheme and spaces', 'Bearer   ', 'the credential after the scheme is missing'],
    ['two words', `Bearer ${TOKEN} extra`, 'the credential is not a single token68 value'],
    ['quoted', `Bearer "${TOKEN}"`, 'the credential is not a single token68 value'],
    ['padding in the middle', 'Bearer ab=cd', 'the credential is not a single token68 value'],
    ['only padding', 'Bearer ==', 'the credential is not a single token68 value'],
    ['non-ASCII', 'Bearer tökén', 'the credential is not a single token68 value'],
    ['Basic, not base64', 'Basic dXNlcjpwYXN', 'the Basic credential is not base64'],
    [
      'Basic, no colon',
      `Basic ${Buffer.from('justuser').toString('base64')}`,
      'the Basic credential has no user-id and password',
    ],
    [
      'Basic, empty password',
      `Basic ${Buffer.from('alice:').toString('base64')}`,
      'the Basic credential has an empty password',
    ],
  ])('refuses %s', (_label, value, detail) => {
    expect(extractCredential(value)).toEqual({ kind: 'invalid', detail });
  });

  it('never repeats the header value in a detail', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4 }), (value) => {
        const result = extractCredential(value);
        if (result.kind === 'invalid') expect(result.detail).not.toContain(value.trim());
      }),
    );
  });

  it('property: a bearer result is a space-free, comma-free substring of the header', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const result = extractCredential(`Bearer ${value}`);
        if (result.kind === 'token') {
          expect(value).toContain(result.token);
          expect(result.token).not.toMatch(/[\s,]/);
        }
      }),
    );
  });
});
