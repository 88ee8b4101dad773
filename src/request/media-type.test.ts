import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidMediaType } from './media-type.js';

describe('isValidMediaType', () => {
  it.each([
    'text/plain',
    'TEXT/Plain',
    'application/vnd.github+json',
    "a!#$%&'*+-.^_`|~/b",
    'text/plain; charset=utf-8',
    'text/plain;charset=utf-8',
    'text/plain ;\tcharset=utf-8',
    'text/plain; charset=utf-8; format=flowed',
    'text/plain;',
    'text/plain;;',
    'text/plain; ; charset=utf-8',
    'text/plain ',
    'multipart/form-data; boundary="a b"',
    'multipart/form-data; boundary=""',
    'text/plain; a="x\\"y"',
    'text/plain; a="caf\u00e9"',
  ])('accepts %j', (value) => {
    expect(isValidMediaType(value)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    [' text/plain', 'leading space'],
    ['text', 'no subtype'],
    ['text/', 'empty subtype'],
    ['/plain', 'empty type'],
    ['text /plain', 'space before "/"'],
    ['text/ plain', 'space after "/"'],
    ['text/plain/x', 'a second "/"'],
    ['application/x-www-form-urlencoded,x', 'a list'],
    ['text/plain, application/json', 'two types'],
    ['text/plain charset=utf-8', 'a parameter without ";"'],
    ['text/plain; charset', 'a parameter without "="'],
    ['text/plain; charset=', 'an empty value'],
    ['text/plain; =utf-8', 'an empty name'],
    ['text/plain; charset =utf-8', 'space before "="'],
    ['text/plain; charset= utf-8', 'space after "="'],
    ['text/plain; charset=utf-8 x', 'text after a value'],
    ['text/plain; charset="utf-8', 'an unterminated quoted-string'],
    ['text/plain; a="x\\"', 'an escaped closing quote'],
    ['text/plain; a="x"y', 'text after a quoted-string'],
    ['text/plain; a="\u0001"', 'a control character in a quoted-string'],
    ['text/plain; a="\u0100"', 'a character beyond latin1 in a quoted-string'],
    ['text/pl@in', 'a non-tchar in the subtype'],
    ['text/plain; a=b@c', 'a non-tchar in a token value'],
  ])('refuses %j (%s)', (value) => {
    expect(isValidMediaType(value)).toBe(false);
  });

  it('property: never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        expect(typeof isValidMediaType(value)).toBe('boolean');
      }),
    );
  });
});
