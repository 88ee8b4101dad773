import { describe, expect, it } from 'vitest';
import { checkRequestHeaders, isValidHost } from './header-check.js';

const HOST = ['Host', 'api.example.com'];

describe('checkRequestHeaders', () => {
  it.each([
    [[...HOST], 1],
    [['host', 'h', 'Transfer-Encoding', 'chunked'], 1],
    [['host', 'h', 'transfer-encoding', ' CHUNKED\t'], 1],
    [[], 0],
    [['X-Method', 'x'], 0],
  ])('accepts %j (HTTP/1.%d)', (raw, minor) => {
    expect(checkRequestHeaders(raw, minor, 10)).toEqual({ ok: true });
  });

  it.each([
    [[], 1, 'missing_host'],
    [['Host', 'a', 'host', 'b'], 1, 'duplicate_host'],
    [['Host', 'a', 'HOST', 'a'], 1, 'duplicate_host'],
    [['Host', 'evil.example/path'], 1, 'bad_host'],
    [['Host', 'user@evil.example'], 1, 'bad_host'],
    [['Host', 'a,b'], 1, 'bad_host'],
    [['Host', ''], 1, 'bad_host'],
    [[...HOST, 'X-HTTP-Method-Override', 'DELETE'], 1, 'method_override'],
    [[...HOST, 'x-http-method', 'DELETE'], 1, 'method_override'],
    [[...HOST, 'X-Method-Override', 'DELETE'], 1, 'method_override'],
    [[...HOST, 'Transfer-Encoding', 'gzip, chunked'], 1, 'transfer_coding'],
    [[...HOST, 'Transfer-Encoding', 'identity'], 1, 'transfer_coding'],
    [[...HOST, 'Transfer-Encoding', 'chunked'], 0, 'http10_transfer_encoding'],
    [[...HOST, 'a', '1', 'b', '2', 'c', '3'], 1, 'too_many_headers'],
  ])('refuses %j (HTTP/1.%d): %s', (raw, minor, reason) => {
    expect(checkRequestHeaders(raw, minor, 3)).toMatchObject({ ok: false, reason });
  });
});

describe('isValidHost', () => {
  it.each([
    'a',
    'api.example.com',
    'api.example.com:8443',
    '127.0.0.1:80',
    '[::1]',
    '[::1]:8080',
    'my_host-1',
  ])('accepts %j', (host) => expect(isValidHost(host)).toBe(true));
  it.each([
    '',
    ':80',
    'a:',
    'a:123456',
    'a:8x',
    '[::1',
    '[]',
    '[zz]',
    'a b',
    'a/b',
    'a?b',
    'a#b',
    'a\\b',
    'x'.repeat(300),
  ])('refuses %j', (host) => expect(isValidHost(host)).toBe(false));
});
