import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateToken } from '../tokens/format.js';
import { containsToken } from '../tokens/scan.js';
import {
  hasBody,
  type RawRequest,
  type RequestFacts,
  type RequestReaderOptions,
  readRequest,
  type ShapeRefusal,
} from './facts.js';
import type { RequestRefusal } from './refusal.js';
import { TrustedProxies } from './trusted-proxies.js';

const HOST = ['Host', 'api.example.com'];
const CLIENT = '203.0.113.7';
const PROXIES = new TrustedProxies(['10.0.0.0/8', 'fd00::/8']);
const OPTIONS: RequestReaderOptions = {
  maxTargetLength: 8192,
  maxHeaderCount: 10,
  trustedProxies: PROXIES,
  allowUnderscores: false,
};

const TOKEN = generateToken('fine_grained');
const CLASSIC = generateToken('classic');
/** Same shape as `TOKEN`, wrong checksum: text that merely looks like a token. */
const LOOKALIKE = TOKEN.slice(0, -1) + (TOKEN.endsWith('A') ? 'B' : 'A');

function rawRequest(rawHeaders: readonly string[], overrides: Partial<RawRequest> = {}): RawRequest {
  return {
    method: 'GET',
    url: '/repos/acme/api',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    rawHeaders,
    peerAddress: CLIENT,
    expectContinue: false,
    secure: false,
    ...overrides,
  };
}

function read(
  rawHeaders: readonly string[],
  overrides: Partial<RawRequest> = {},
  options: Partial<RequestReaderOptions> = {},
): RequestFacts | ShapeRefusal {
  return readRequest(rawRequest(rawHeaders, overrides), { ...OPTIONS, ...options });
}

function factsOf(
  rawHeaders: readonly string[],
  overrides: Partial<RawRequest> = {},
  options: Partial<RequestReaderOptions> = {},
): RequestFacts {
  const result = read(rawHeaders, overrides, options);
  if (result.kind !== 'facts') throw new Error(`refused: ${result.reason} (${result.detail})`);
  return result;
}

function percentEncodeAll(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += `%${text.charCodeAt(i).toString(16).padStart(2, '0')}`;
  return out;
}

function forwardedNames(facts: RequestFacts): string[] {
  return facts.headers.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
}

describe('readRequest: header checks', () => {
  it.each<[readonly string[], number]>([
    [[...HOST], 1],
    [['host', 'h', 'Transfer-Encoding', 'chunked'], 1],
    [['host', 'h', 'transfer-encoding', ' CHUNKED\t'], 1],
    [[], 0],
    [['X-Method', 'x'], 0],
  ])('accepts %j (HTTP/1.%d)', (raw, minor) => {
    expect(read(raw, { httpVersionMinor: minor })).toMatchObject({ kind: 'facts' });
  });

  it.each<[readonly string[], number, RequestRefusal]>([
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
    expect(read(raw, { httpVersionMinor: minor }, { maxHeaderCount: 3 })).toMatchObject({
      kind: 'shape',
      reason,
    });
  });

  // `isValidHost` (header-values.ts), through the Host header.
  it.each([
    'a',
    'api.example.com',
    'api.example.com:8443',
    '127.0.0.1:80',
    '[::1]',
    '[::1]:8080',
    'my_host-1',
  ])('accepts the Host %j and keeps it', (host) => {
    expect(factsOf(['Host', host]).host).toBe(host);
  });

  it.each([
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
  ])('refuses the Host %j', (host) => {
    expect(read(['Host', host])).toMatchObject({ kind: 'shape', reason: 'bad_host' });
  });

  it.each(['chunked', 'Chunked', 'CHUNKED', ' chunked', 'chunked\t'])(
    'reads "Transfer-Encoding: %s"',
    (value) => {
      expect(factsOf([...HOST, 'Transfer-Encoding', value]).chunked).toBe(true);
    },
  );

  it.each(['', 'chunked, chunked', 'chunkedx', 'x-chunked', 'gzip'])(
    'refuses "Transfer-Encoding: %s"',
    (value) => {
      expect(read([...HOST, 'Transfer-Encoding', value])).toMatchObject({
        kind: 'shape',
        reason: 'transfer_coding',
      });
    },
  );

  it('refuses a second Transfer-Encoding field only if it is not chunked alone', () => {
    // llhttp refuses a list whose last coding is not chunked; one split over fields reaches here.
    expect(read([...HOST, 'Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'])).toMatchObject({
      reason: 'transfer_coding',
    });
  });
});

describe('readRequest: request line', () => {
  it.each<[number, number]>([
    [0, 9],
    [2, 0],
    [1, 2],
    [3, 1],
  ])('refuses HTTP/%d.%d', (major, minor) => {
    expect(read(HOST, { httpVersionMajor: major, httpVersionMinor: minor })).toMatchObject({
      kind: 'shape',
      reason: 'http_version',
    });
  });

  it.each(['TRACE', 'CONNECT', 'PROPFIND', 'get', 'PURGE'])('refuses the method %s', (method) => {
    expect(read(HOST, { method })).toMatchObject({ kind: 'shape', reason: 'method_not_implemented' });
  });

  it.each<[string, RequestRefusal]>([
    ['/a/../b', 'bad_request_target'],
    ['http://evil.example/a', 'bad_request_target'],
    ['/a%5cb', 'bad_request_target'],
    [`/${'a'.repeat(100)}`, 'target_too_long'],
    ['/a?_method=DELETE', 'method_override'],
    [`/a?access_token=x`, 'token_in_query'],
    [`/a?q=${TOKEN}`, 'token_in_query'],
  ])('refuses the target %s: %s', (url, reason) => {
    expect(read(HOST, { url }, { maxTargetLength: 64 })).toMatchObject({ kind: 'shape', reason });
  });

  it('reads the request line before the headers', () => {
    // A refused method is answered as such, whatever else is wrong with the request.
    expect(read(['Host', 'a', 'Host', 'b'], { method: 'TRACE' })).toMatchObject({
      reason: 'method_not_implemented',
    });
  });

  it('keeps path and query exactly as received', () => {
    const facts = factsOf(HOST, { method: 'POST', url: '/a%20b/c?x=1&y=%2F&' });
    expect(facts).toMatchObject({ method: 'POST', path: '/a%20b/c', query: '?x=1&y=%2F&' });
    expect(factsOf(HOST, { url: '/x?' }).query).toBe('?');
    expect(factsOf(HOST, { url: '/x' }).query).toBe('');
  });

  it('passes expectContinue through', () => {
    expect(factsOf(HOST, { expectContinue: true }).expectContinue).toBe(true);
    expect(factsOf(HOST).expectContinue).toBe(false);
  });
});

describe('readRequest: Content-Type', () => {
  it.each([
    'text/plain',
    'TEXT/Plain',
    'text/plain; charset=utf-8',
    'text/plain;charset=utf-8',
    'text/plain;;',
    'multipart/form-data; boundary="a b"',
    'application/x-www-form-urlencoded',
  ])('accepts %j and relays it', (value) => {
    const facts = factsOf([...HOST, 'Content-Type', value]);
    expect(facts.contentType).toBe(value);
    expect(facts.headers).toEqual(['Content-Type', value]);
  });

  it.each([
    ['', 'empty'],
    ['application/x-www-form-urlencoded,x', 'a list (Rack and PHP cut at the comma)'],
    ['text/plain, application/json', 'two types'],
    ['text', 'no subtype'],
    ['text/plain; charset', 'a parameter without a value'],
    ['text/plain; charset="utf-8', 'an unterminated quoted-string'],
    ['text/plain charset=utf-8', 'a parameter without ";"'],
  ])('refuses %j (%s)', (value) => {
    expect(read([...HOST, 'Content-Type', value])).toMatchObject({
      kind: 'shape',
      reason: 'bad_content_type',
    });
  });

  it('refuses two Content-Type fields, even equal ones', () => {
    const raw = [...HOST, 'Content-Type', 'text/plain', 'content-type', 'text/plain'];
    expect(read(raw)).toMatchObject({ kind: 'shape', reason: 'bad_content_type' });
  });

  it('reports no content type when there is none', () => {
    expect(factsOf(HOST).contentType).toBeUndefined();
  });
});

describe('readRequest: Connection', () => {
  it.each([
    'content-type',
    'Content-Length',
    'host',
    'x-patgate-user',
    'X-Patgate-Anything',
    'authorization',
    'transfer-encoding',
    'x-forwarded-for',
    'x-forwarded-proto',
    'X-Forwarded-Host',
    'forwarded',
    'keep-alive, content-type',
  ])('refuses "Connection: %s": the next hop would drop a field the gateway acted on', (value) => {
    expect(read([...HOST, 'Connection', value])).toMatchObject({
      kind: 'shape',
      reason: 'connection_names_end_to_end',
    });
  });

  it('refuses a deciding field named by a second Connection header', () => {
    const raw = [...HOST, 'Connection', 'keep-alive', 'connection', 'host'];
    expect(read(raw)).toMatchObject({ reason: 'connection_names_end_to_end' });
  });

  it.each(['keep-alive', 'close', 'upgrade', 'keep-alive, close, upgrade', 'Keep-Alive , TE', ''])(
    'accepts "Connection: %s" and forwards nothing of it',
    (value) => {
      const facts = factsOf([...HOST, 'Connection', value, 'Accept', '*/*']);
      expect(facts.headers).toEqual(['Accept', '*/*']);
    },
  );

  it('accepts "Connection: x-custom" and then does not forward X-Custom', () => {
    const facts = factsOf([
      ...HOST,
      'X-Custom',
      '1',
      'Connection',
      'x-custom',
      'x-other',
      '2',
      'X-CUSTOM',
      '3',
    ]);
    expect(facts.headers).toEqual(['x-other', '2']);
  });
});

describe('readRequest: a token outside Authorization', () => {
  it.each<[string, readonly string[], Partial<RawRequest>]>([
    ['a Cookie', ['Cookie', `session=abc; pat=${TOKEN}; theme=dark`], {}],
    ['a Cookie, at its start', ['Cookie', `${TOKEN}`], {}],
    ['X-Api-Key', ['X-Api-Key', TOKEN], {}],
    ['Proxy-Authorization', ['Proxy-Authorization', `Bearer ${TOKEN}`], {}],
    ['a header dropped anyway', ['X-Patgate-User', TOKEN], {}],
    ['a classic token in a Referer', ['Referer', `https://x.example/?t=${CLASSIC}`], {}],
    ['the path', [], { url: `/repos/${TOKEN}` }],
    ['the path, at its end after other text', [], { url: `/repos/x${TOKEN}` }],
    ['the path, first character percent-encoded', [], { url: `/repos/%70${TOKEN.slice(1)}` }],
    ['the path, "_" percent-encoded', [], { url: `/repos/${TOKEN.replace('_', '%5F')}` }],
    ['the path, wholly percent-encoded', [], { url: `/repos/${percentEncodeAll(TOKEN)}` }],
  ])('refuses one in %s', (_label, headers, overrides) => {
    expect(read([...HOST, ...headers], overrides)).toMatchObject({
      kind: 'shape',
      reason: 'token_outside_authorization',
    });
  });

  it('never names the token in the detail', () => {
    const refusal = read([...HOST, 'Cookie', `pat=${TOKEN}`]);
    expect(JSON.stringify(refusal)).not.toContain(TOKEN);
  });

  it.each<[string, readonly string[], Partial<RawRequest>]>([
    ['a Cookie', ['Cookie', `pat=${LOOKALIKE}`], {}],
    ['X-Api-Key', ['X-Api-Key', LOOKALIKE], {}],
    ['the path', [], { url: `/repos/${LOOKALIKE}` }],
    ['the path, percent-encoded', [], { url: `/repos/%70${LOOKALIKE.slice(1)}` }],
    ['an upper-case prefix', ['X-Api-Key', `PGT_${TOKEN.slice(4)}`], {}],
  ])('accepts a lookalike with a wrong checksum in %s', (_label, headers, overrides) => {
    expect(read([...HOST, ...headers], overrides)).toMatchObject({ kind: 'facts' });
  });

  it('reads a token in Authorization as the credential', () => {
    expect(factsOf([...HOST, 'Authorization', `Bearer ${TOKEN}`]).credential).toEqual({
      kind: 'token',
      token: TOKEN,
    });
  });
});

describe('readRequest: credential', () => {
  it.each<[string, readonly string[], RequestFacts['credential']]>([
    ['none', [], { kind: 'none' }],
    ['a bearer token', ['Authorization', `Bearer ${TOKEN}`], { kind: 'token', token: TOKEN }],
    ['any name casing', ['AUTHORIZATION', 'bearer abc'], { kind: 'token', token: 'abc' }],
    [
      'Basic, the password as the token',
      ['Authorization', 'Basic dXNlcjpwYXNz'],
      { kind: 'token', token: 'pass' },
    ],
    ['an empty value', ['Authorization', ''], { kind: 'invalid', detail: 'empty Authorization header' }],
    [
      'two Authorization fields',
      ['authorization', `Bearer ${TOKEN}`, 'Authorization', `Bearer ${TOKEN}`],
      { kind: 'invalid', detail: 'more than one Authorization header' },
    ],
    [
      'three Authorization fields, the first invalid',
      ['Authorization', 'x', 'authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b'],
      { kind: 'invalid', detail: 'more than one Authorization header' },
    ],
    ['a near name, which is forwarded instead', ['authorisation', `Bearer abc`], { kind: 'none' }],
  ])('%s', (_label, headers, credential) => {
    expect(factsOf([...HOST, ...headers]).credential).toEqual(credential);
  });

  it('never forwards the Authorization field', () => {
    const facts = factsOf([...HOST, 'Authorization', 'Bearer abc', 'Accept', '*/*']);
    expect(facts.headers).toEqual(['Accept', '*/*']);
  });
});

describe('readRequest: framing', () => {
  it.each<[string, readonly string[], number, boolean, boolean]>([
    ['no framing header', [], -1, false, false],
    ['Content-Length: 0', ['Content-Length', '0'], 0, false, false],
    ['Content-Length: 42', ['Content-Length', '42'], 42, false, true],
    ['the same Content-Length twice', ['Content-Length', '42', 'content-length', '42'], 42, false, true],
    ['Transfer-Encoding: chunked', ['Transfer-Encoding', 'chunked'], -1, true, true],
  ])('%s', (_label, headers, contentLength, chunked, body) => {
    const facts = factsOf([...HOST, ...headers]);
    expect(facts.contentLength).toBe(contentLength);
    expect(facts.chunked).toBe(chunked);
    expect(hasBody(facts)).toBe(body);
  });

  it('forwards Content-Length once and Transfer-Encoding never', () => {
    expect(factsOf([...HOST, 'Content-Length', '42', 'content-length', '42']).headers).toEqual([
      'Content-Length',
      '42',
    ]);
    expect(factsOf([...HOST, 'Transfer-Encoding', 'chunked']).headers).toEqual([]);
  });
});

describe('readRequest: client address and provenance', () => {
  it.each<[string, string, readonly string[], string, boolean]>([
    ['an untrusted peer', CLIENT, [], CLIENT, false],
    ['an IPv4-mapped peer', `::ffff:${CLIENT}`, [], CLIENT, false],
    [
      'an untrusted peer, whose X-Forwarded-For is ignored',
      CLIENT,
      ['X-Forwarded-For', '198.51.100.1'],
      CLIENT,
      false,
    ],
    ['a trusted peer without a chain', '10.0.0.2', [], '10.0.0.2', true],
    [
      'a trusted IPv4-mapped peer',
      '::ffff:10.0.0.2',
      ['X-Forwarded-For', '198.51.100.1'],
      '198.51.100.1',
      true,
    ],
    ['a trusted peer with one hop', '10.0.0.2', ['X-Forwarded-For', '198.51.100.1'], '198.51.100.1', true],
    [
      'a trusted peer, skipping trusted hops',
      '10.0.0.2',
      ['X-Forwarded-For', '198.51.100.1, 203.0.113.9, 10.0.0.1'],
      '203.0.113.9',
      true,
    ],
    [
      'a trusted peer, a chain split over two fields',
      '10.0.0.2',
      ['X-Forwarded-For', '198.51.100.1', 'x-forwarded-for', '10.0.0.1'],
      '198.51.100.1',
      true,
    ],
    [
      'a trusted peer, every hop trusted',
      '10.0.0.2',
      ['X-Forwarded-For', '10.0.0.3, 10.0.0.1'],
      '10.0.0.3',
      true,
    ],
    [
      'a trusted peer, a mapped hop',
      '10.0.0.2',
      ['X-Forwarded-For', '::ffff:198.51.100.1'],
      '198.51.100.1',
      true,
    ],
    ['a trusted IPv6 peer', 'fd00::1', ['X-Forwarded-For', '2001:db8::1'], '2001:db8::1', true],
    [
      'a trusted peer, a garbage nearest entry',
      '10.0.0.2',
      ['X-Forwarded-For', '198.51.100.1, garbage'],
      '10.0.0.2',
      true,
    ],
    [
      'a trusted peer, garbage behind a trusted hop',
      '10.0.0.2',
      ['X-Forwarded-For', 'garbage, 10.0.0.1'],
      '10.0.0.1',
      true,
    ],
    [
      'a trusted peer, an address with a port',
      '10.0.0.2',
      ['X-Forwarded-For', '198.51.100.1:4711'],
      '10.0.0.2',
      true,
    ],
    ['a trusted peer, an empty entry', '10.0.0.2', ['X-Forwarded-For', '198.51.100.1, '], '10.0.0.2', true],
  ])('%s', (_label, peer, headers, clientAddress, trustedPeer) => {
    const facts = factsOf([...HOST, ...headers], { peerAddress: peer });
    expect(facts.peerAddress).toBe(peer.replace(/^::ffff:/, ''));
    expect(facts.trustedPeer).toBe(trustedPeer);
    expect(facts.clientAddress).toBe(clientAddress);
  });

  it("keeps a trusted peer's X-Forwarded-* as lists, in order, and forwards none of them as is", () => {
    const facts = factsOf(
      [
        ...HOST,
        'X-Forwarded-For',
        '198.51.100.1',
        'x-forwarded-for',
        '10.0.0.1',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'public.example',
      ],
      { peerAddress: '10.0.0.2' },
    );
    expect(facts).toMatchObject({
      forwardedFor: '198.51.100.1, 10.0.0.1',
      forwardedProto: 'https',
      forwardedHost: 'public.example',
      headers: [],
    });
  });

  it("ignores an untrusted peer's X-Forwarded-*", () => {
    const facts = factsOf([
      ...HOST,
      'X-Forwarded-For',
      '198.51.100.1',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'evil.example',
    ]);
    expect(facts).toMatchObject({
      forwardedFor: undefined,
      forwardedProto: undefined,
      forwardedHost: undefined,
      headers: [],
    });
  });
});

describe('readRequest: forwarded headers', () => {
  it('keeps the spelling, order and repeats of end-to-end fields', () => {
    const raw = [...HOST, 'Accept', '*/*', 'X-Custom', 'a', 'x-custom', 'b', 'Cookie', 'c=1'];
    expect(factsOf(raw).headers).toEqual([
      'Accept',
      '*/*',
      'X-Custom',
      'a',
      'x-custom',
      'b',
      'Cookie',
      'c=1',
    ]);
  });

  it.each([
    'Host',
    'Proxy-Authorization',
    'Keep-Alive',
    'Proxy-Connection',
    'TE',
    'Trailer',
    'Upgrade',
    'Expect',
    'Forwarded',
    'X-Real-IP',
    'X-Original-URL',
    'X-Rewrite-URL',
    'X-Patgate-User',
    'x-patgate-token-id',
  ])('drops %s', (name) => {
    const raw = name === 'Host' ? HOST : [...HOST, name, 'v'];
    expect(factsOf(raw).headers).toEqual([]);
  });
});

describe('readRequest never throws', () => {
  const KNOWN_NAMES = [
    'Host',
    'host',
    'Authorization',
    'authorization',
    'Transfer-Encoding',
    'Content-Length',
    'Content-Type',
    'Connection',
    'X-Forwarded-For',
    'X-Forwarded-Proto',
    'X-Forwarded-Host',
    'X-HTTP-Method-Override',
    'Keep-Alive',
    'Expect',
    'X-Patgate-User',
    'X_Patgate_User',
    'X_Custom',
    'Cookie',
    'Accept',
  ];
  const KNOWN_VALUES = [
    'api.example.com',
    'chunked',
    'gzip, chunked',
    '42',
    'text/plain; charset=utf-8',
    'keep-alive, x-custom',
    'x-patgate-user',
    'Bearer abc',
    `Bearer ${TOKEN}`,
    TOKEN,
    LOOKALIKE,
    '198.51.100.1, garbage, 10.0.0.1',
    '::ffff:10.0.0.1',
    '',
  ];
  const name = fc.oneof(fc.constantFrom(...KNOWN_NAMES), fc.string(), fc.string({ unit: 'binary' }));
  const value = fc.oneof(fc.constantFrom(...KNOWN_VALUES), fc.string(), fc.string({ unit: 'binary' }));
  const url = fc.oneof(
    fc.constantFrom('/', '/a?b=1', `/x/${TOKEN}`, `/x?q=${TOKEN}`, '/a/../b', '*', ''),
    fc.string().map((s) => `/${s}`),
    fc.string({ unit: 'binary' }),
  );
  const headerList = fc.array(fc.tuple(name, value), { maxLength: 12 }).map((pairs) => pairs.flat());
  const peer = fc.constantFrom(CLIENT, '10.0.0.2', '::ffff:10.0.0.2', 'fd00::1', '', 'garbage');
  const anyRequest: fc.Arbitrary<RawRequest> = fc.record({
    method: fc.constantFrom('GET', 'POST', 'TRACE', 'get', ''),
    url,
    httpVersionMajor: fc.integer({ min: 0, max: 2 }),
    httpVersionMinor: fc.integer({ min: 0, max: 2 }),
    rawHeaders: headerList,
    peerAddress: peer,
    expectContinue: fc.boolean(),
    secure: fc.boolean(),
  });
  // Past the request line and with a Host, so most cases reach the header rules.
  const plausibleRequest: fc.Arbitrary<RawRequest> = fc.record({
    method: fc.constantFrom('GET', 'POST'),
    url: fc.constantFrom('/', '/a?b=1', '/repos/acme/api'),
    httpVersionMajor: fc.constant(1),
    httpVersionMinor: fc.constantFrom(0, 1),
    rawHeaders: headerList.map((list) => [...HOST, ...list]),
    peerAddress: peer,
    expectContinue: fc.boolean(),
    secure: fc.boolean(),
  });
  const DROPPED = new Set([
    'host',
    'authorization',
    'proxy-authorization',
    'connection',
    'transfer-encoding',
    'keep-alive',
    'expect',
    'x-forwarded-for',
    'x-forwarded-proto',
    'x-forwarded-host',
    'x-http-method-override',
    'forwarded',
  ]);

  it('property: any request line and header list gives facts or a refusal', () => {
    fc.assert(
      fc.property(anyRequest, fc.boolean(), (request, allowUnderscores) => {
        const result = readRequest(request, { ...OPTIONS, allowUnderscores });
        expect(['facts', 'shape']).toContain(result.kind);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: what is forwarded holds no credential and no owned field in any spelling', () => {
    fc.assert(
      fc.property(plausibleRequest, fc.boolean(), (request, allowUnderscores) => {
        const result = readRequest(request, { ...OPTIONS, allowUnderscores });
        if (result.kind === 'shape') return;
        expect(result.headers.length % 2).toBe(0);
        for (const forwarded of forwardedNames(result)) {
          const dashed = forwarded.replaceAll('_', '-');
          expect(DROPPED.has(dashed)).toBe(false);
          expect(dashed.startsWith('x-patgate-')).toBe(false);
          if (!allowUnderscores) expect(forwarded).not.toContain('_');
        }
        for (let i = 1; i < result.headers.length; i += 2) {
          expect(containsToken(result.headers[i] as string)).toBe(false);
        }
        if (!result.trustedPeer) expect(result.forwardedFor).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});

// Regression: provenance spellings besides X-Forwarded-For/-Proto/-Host reached the upstream
// from any client (Rack's X-Forwarded-Ssl, Spring's X-Forwarded-Prefix, Rails' Client-IP).
describe('readRequest: provenance is asserted by the gateway alone', () => {
  it.each([
    'X-Forwarded-Port',
    'X-Forwarded-Prefix',
    'X-Forwarded-Ssl',
    'X-Forwarded-Scheme',
    'X-Forwarded-Server',
    'X_Forwarded_Prefix',
    'X-Url-Scheme',
    'Front-End-Https',
    'X-Host',
    'X-Original-Host',
    'Client-IP',
    'True-Client-IP',
    'X-Client-IP',
    'X-Original-URI',
  ])('%s is not forwarded', (name) => {
    const facts = factsOf([...HOST, name, 'evil', 'Accept', '*/*'], {}, { allowUnderscores: true });
    expect(facts.headers).toEqual(['Accept', '*/*']);
  });

  it("a trusted peer's X-Forwarded-Proto must be http or https", () => {
    const trusted = { trustedProxies: new TrustedProxies(['10.0.0.0/8']) };
    expect(
      read([...HOST, 'X-Forwarded-Proto', 'https, http'], { peerAddress: '10.0.0.2' }, trusted).kind,
    ).toBe('facts');
    const refused = read([...HOST, 'X-Forwarded-Proto', 'javascript'], { peerAddress: '10.0.0.2' }, trusted);
    expect(refused).toMatchObject({ kind: 'shape', reason: 'bad_host' });
  });
});
