import { describe, expect, it } from 'vitest';
import { FormMethodOverrideScanner, formKindOf } from './form-override.js';

function scan(kind: 'urlencoded' | 'multipart', chunks: readonly string[]): boolean {
  const scanner = new FormMethodOverrideScanner(kind);
  return chunks.some((chunk) => scanner.push(Buffer.from(chunk, 'latin1')));
}

/** Every split of `body` into two chunks, so state carried across chunks is exercised. */
function everySplit(body: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= body.length; i++) out.push([body.slice(0, i), body.slice(i)]);
  return out;
}

describe('formKindOf', () => {
  it.each([
    ['POST', undefined, 'urlencoded'],
    ['PUT', undefined, null],
    ['POST', 'application/x-www-form-urlencoded', 'urlencoded'],
    ['PATCH', 'Application/X-WWW-Form-Urlencoded; charset=utf-8', 'urlencoded'],
    ['POST', 'multipart/form-data; boundary=x', 'multipart'],
    ['POST', 'application/json', 'json'],
    ['POST', 'application/vnd.api+json; charset=utf-8', 'json'],
    ['PUT', 'application/json', null],
    ['POST', 'application/x-www-form-urlencodedx', null],
  ])('%s %j -> %s', (method, type, kind) => {
    expect(formKindOf(method, type)).toBe(kind);
  });
});

describe('FormMethodOverrideScanner: spellings frameworks accept', () => {
  it.each<['multipart' | 'json', string]>([
    ['multipart', "Content-Disposition: form-data; name='_method'\r\n\r\nDELETE"],
    ['multipart', 'Content-Disposition: form-data; name= "_method"\r\n\r\nDELETE'],
    ['multipart', 'Content-Disposition: form-data; name = _method\r\n\r\nDELETE'],
    ['json', '{"title":"x","_method":"DELETE"}'],
    ['json', '{"\\u005fmethod" : "DELETE"}'],
  ])('%s %j is found however it is split', (kind, body) => {
    for (const parts of everySplit(body)) {
      const scanner = new FormMethodOverrideScanner(kind);
      expect(parts.some((part) => scanner.push(Buffer.from(part, 'latin1')))).toBe(true);
    }
  });

  it.each<['multipart' | 'json', string]>([
    ['multipart', 'Content-Disposition: form-data; name="_methods"\r\n\r\nx'],
    ['json', '{"x_method":"DELETE","method":"GET"}'],
  ])('%s %j passes', (kind, body) => {
    const scanner = new FormMethodOverrideScanner(kind);
    expect(scanner.push(Buffer.from(body, 'latin1'))).toBe(false);
  });
});

describe('FormMethodOverrideScanner', () => {
  it.each([
    '_method=DELETE',
    'a=1&_method=DELETE',
    'a=1;_method=DELETE',
    'a=1&%5Fmethod=DELETE',
    'a=1&_METHOD=DELETE',
    'a=1&.method=DELETE',
    'a=1&+_method=DELETE',
    'a=1&_method&b=2',
  ])('finds _method in urlencoded %j however it is split', (body) => {
    for (const chunks of everySplit(body)) expect(scan('urlencoded', chunks), chunks.join('|')).toBe(true);
  });

  it.each([
    'a=1&b=2',
    'method=DELETE',
    'x_method=1',
    'a=_method',
    'a=1&b=_method%3DDELETE',
    '_methods=1',
    '%zz=1',
  ])('lets urlencoded %j through', (body) => {
    for (const chunks of everySplit(body)) expect(scan('urlencoded', chunks)).toBe(false);
  });

  it('finds a multipart _method field across chunk boundaries', () => {
    const body = '--x\r\nContent-Disposition: form-data; NAME="_method"\r\n\r\nDELETE\r\n--x--\r\n';
    for (const chunks of everySplit(body)) expect(scan('multipart', chunks)).toBe(true);
    expect(
      scan('multipart', ['--x\r\nContent-Disposition: form-data; name="title"\r\n\r\n_method\r\n--x--']),
    ).toBe(false);
  });
});
