import { describe, expect, it } from 'vitest';
import { type RawRequest, type RequestFacts, readRequest, type ShapeRefusal } from '../request/facts.js';
import { TrustedProxies } from '../request/trusted-proxies.js';
import { filterResponseHeaders, type UpstreamIdentity, upstreamRequestHeaders } from './headers.js';

const ALICE: UpstreamIdentity = { user: 'alice', tokenId: 'tok_123' };
const CLIENT = '203.0.113.7';
const PROXY = '10.0.0.2';
const HOST = 'api.example.com';
const PROXIES = new TrustedProxies(['10.0.0.0/8']);

interface ReadOptions {
  /** Defaults to `CLIENT`, which is not trusted; `PROXY` is. */
  readonly peer?: string;
  /** Defaults to 1; HTTP/1.0 needs no Host. */
  readonly minor?: number;
  readonly allowUnderscores?: boolean;
}

/** What Node would hand over for a GET with these raw headers. */
function rawRequest(rawHeaders: readonly string[], options: ReadOptions = {}): RawRequest {
  return {
    method: 'GET',
    url: '/repos/acme/api',
    httpVersionMajor: 1,
    httpVersionMinor: options.minor ?? 1,
    rawHeaders,
    peerAddress: options.peer ?? CLIENT,
    expectContinue: false,
    secure: false,
  };
}

function read(rawHeaders: readonly string[], options: ReadOptions = {}): RequestFacts | ShapeRefusal {
  return readRequest(rawRequest(rawHeaders, options), {
    maxTargetLength: 8192,
    maxHeaderCount: 100,
    trustedProxies: PROXIES,
    allowUnderscores: options.allowUnderscores ?? false,
  });
}

/** The upstream's header list for a request from `CLIENT` (or `options.peer`) with a client Host. */
function upstreamFor(
  rawHeaders: readonly string[],
  identity: UpstreamIdentity | null = ALICE,
  options: ReadOptions = {},
): string[] {
  const withHost = options.minor === 0 ? rawHeaders : ['Host', HOST, ...rawHeaders];
  const facts = read(withHost, options);
  if (facts.kind !== 'facts') throw new Error(`refused: ${facts.reason} (${facts.detail})`);
  return upstreamRequestHeaders(facts, identity);
}

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

function valuesOf(flat: readonly string[], name: string): string[] {
  return pairs(flat)
    .filter(([n]) => n.toLowerCase() === name)
    .map(([, v]) => v);
}

describe('upstreamRequestHeaders', () => {
  it.each([
    ['authorization', 'client-value'],
    ['proxy-authorization', 'client-value'],
    ['connection', 'client-value'],
    ['keep-alive', 'client-value'],
    ['proxy-connection', 'client-value'],
    ['te', 'client-value'],
    ['trailer', 'client-value'],
    ['transfer-encoding', 'chunked'],
    ['upgrade', 'client-value'],
    ['expect', '100-continue'],
    ['forwarded', 'client-value'],
    ['x-real-ip', 'client-value'],
    ['x-original-url', 'client-value'],
    ['x-rewrite-url', 'client-value'],
    ['x-patgate-anything', 'client-value'],
  ])('drops the client header %s', (name, value) => {
    const out = upstreamFor([name, value, 'accept', '*/*']);
    expect(valuesOf(out, name)).toEqual([]);
    expect(valuesOf(out, 'accept')).toEqual(['*/*']);
  });

  it.each(['x-http-method-override', 'x-http-method', 'x-method-override'])(
    'refuses, rather than drops, the method override header %s',
    (name) => {
      expect(read(['Host', HOST, name, 'DELETE'])).toMatchObject({
        kind: 'shape',
        reason: 'method_override',
      });
    },
  );

  it.each([
    ['Authorization', 'client-value'],
    ['AUTHORIZATION', 'client-value'],
    ['X-Patgate-User', 'client-value'],
    ['X-PATGATE-TOKEN-ID', 'client-value'],
    ['Transfer-Encoding', 'chunked'],
    ['PROXY-CONNECTION', 'client-value'],
  ])('matches names case-insensitively (%s)', (name, value) => {
    const out = upstreamFor([name, value], null);
    expect(valuesOf(out, name.toLowerCase())).toEqual([]);
    expect(out).not.toContain(value);
  });

  it.each([
    ['x-forwarded-for', CLIENT],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', HOST],
    ['x-patgate-user', 'alice'],
    ['x-patgate-token-id', 'tok_123'],
  ])('replaces a client %s with exactly one gateway value', (name, expected) => {
    const out = upstreamFor([name, 'spoofed', name.toUpperCase(), 'spoofed-again']);
    expect(valuesOf(out, name)).toEqual([expected]);
  });

  it("sends no Host (undici writes the upstream's) and relays the client's as X-Forwarded-Host", () => {
    const out = upstreamFor(['Accept', '*/*']);
    expect(valuesOf(out, 'host')).toEqual([]);
    expect(valuesOf(out, 'x-forwarded-host')).toEqual([HOST]);
  });

  it('drops every header the Connection header names, in any case and spacing', () => {
    const raw = [
      'Connection',
      'keep-alive, X-Secret ,x-other',
      'x-secret',
      '1',
      'X-Other',
      '2',
      'connection',
      'X-Third',
      'x-third',
      '3',
      'accept',
      '*/*',
    ];
    const out = upstreamFor(raw);
    expect(valuesOf(out, 'x-secret')).toEqual([]);
    expect(valuesOf(out, 'x-other')).toEqual([]);
    expect(valuesOf(out, 'x-third')).toEqual([]);
    expect(valuesOf(out, 'accept')).toEqual(['*/*']);
  });

  it('refuses a Connection header naming a field the gateway acts on, so no hop can drop it', () => {
    const refusal = read(['Host', HOST, 'Connection', 'x-forwarded-for, host, x-patgate-user']);
    expect(refusal).toMatchObject({ kind: 'shape', reason: 'connection_names_end_to_end' });
  });

  it('keeps ordinary headers with their spelling, order and repeats, and content-length once', () => {
    const raw = [
      'Content-Type',
      'application/json',
      'Content-Length',
      '42',
      'X-Custom',
      'a',
      'x-custom',
      'b',
      'content-length',
      '42',
    ];
    expect(pairs(upstreamFor(raw))).toEqual([
      ['Content-Type', 'application/json'],
      ['Content-Length', '42'],
      ['X-Custom', 'a'],
      ['x-custom', 'b'],
      ['x-forwarded-for', CLIENT],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', HOST],
      ['x-patgate-user', 'alice'],
      ['x-patgate-token-id', 'tok_123'],
    ]);
  });

  it('sends no identity headers on a public route and no x-forwarded-host without a client Host', () => {
    const out = upstreamFor(['X-Patgate-User', 'mallory'], null, { minor: 0 });
    expect(pairs(out)).toEqual([
      ['x-forwarded-for', CLIENT],
      ['x-forwarded-proto', 'http'],
    ]);
  });

  it('ignores a dangling name without a value', () => {
    const out = upstreamFor(['accept', '*/*', 'dangling'], null);
    expect(valuesOf(out, 'dangling')).toEqual([]);
    expect(valuesOf(out, 'accept')).toEqual(['*/*']);
  });

  describe('from a trusted proxy', () => {
    const fromProxy: ReadOptions = { peer: PROXY };

    it('extends the X-Forwarded-For chain with the peer and keeps its proto and host', () => {
      const raw = [
        'X-Forwarded-For',
        '198.51.100.1',
        'x-forwarded-for',
        '203.0.113.9, 10.0.0.1',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'public.example',
      ];
      const out = upstreamFor(raw, ALICE, fromProxy);
      expect(valuesOf(out, 'x-forwarded-for')).toEqual(['198.51.100.1, 203.0.113.9, 10.0.0.1, 10.0.0.2']);
      expect(valuesOf(out, 'x-forwarded-proto')).toEqual(['https']);
      expect(valuesOf(out, 'x-forwarded-host')).toEqual(['public.example']);
    });

    it('fills in what the proxy did not send', () => {
      const out = upstreamFor([], ALICE, fromProxy);
      expect(valuesOf(out, 'x-forwarded-for')).toEqual([PROXY]);
      expect(valuesOf(out, 'x-forwarded-proto')).toEqual(['http']);
      expect(valuesOf(out, 'x-forwarded-host')).toEqual([HOST]);
    });

    it('still drops Forwarded, X-Real-IP and identity headers', () => {
      const raw = ['forwarded', 'for=1.2.3.4', 'x-real-ip', '1.2.3.4', 'x-patgate-user', 'mallory'];
      const out = upstreamFor(raw, ALICE, fromProxy);
      expect(valuesOf(out, 'forwarded')).toEqual([]);
      expect(valuesOf(out, 'x-real-ip')).toEqual([]);
      expect(valuesOf(out, 'x-patgate-user')).toEqual(['alice']);
    });
  });

  describe('header names holding "_"', () => {
    const UNDERSCORED = [
      'X_Patgate_User',
      'X-Patgate_User',
      'x_patgate_token_id',
      'X_Forwarded_For',
      'X-Forwarded_For',
      'X_Patgate-User',
      'x_forwarded_host',
      'X_Forwarded_Proto',
      'X_Real_IP',
      'Content_Type',
      'Transfer_Encoding',
      'Proxy_Authorization',
      'X_HTTP_Method_Override',
    ];

    it.each([...UNDERSCORED, 'X_Custom'])('drops %s by default', (name) => {
      const out = upstreamFor([name, 'mallory', 'accept', '*/*'], null);
      expect(out).not.toContain(name);
      expect(out).not.toContain('mallory');
      expect(valuesOf(out, 'accept')).toEqual(['*/*']);
    });

    it.each(UNDERSCORED)(
      'drops %s even with allowUnderscores: a spelling of a field the gateway owns',
      (name) => {
        const out = upstreamFor([name, 'mallory'], ALICE, { allowUnderscores: true });
        expect(out).not.toContain(name);
        expect(out).not.toContain('mallory');
      },
    );

    it('forwards any other underscored name, as spelled, with allowUnderscores', () => {
      const out = upstreamFor(['X_Custom', 'a', 'x_trace_id', 'b'], null, { allowUnderscores: true });
      expect(pairs(out).slice(0, 2)).toEqual([
        ['X_Custom', 'a'],
        ['x_trace_id', 'b'],
      ]);
    });
  });
});

describe('filterResponseHeaders', () => {
  it.each([
    'connection',
    'keep-alive',
    'proxy-connection',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'proxy-authenticate',
    'x-patgate-token-expiration',
  ])('drops the upstream header %s', (name) => {
    const out = filterResponseHeaders([name, 'upstream-value', 'content-type', 'text/plain']);
    expect(valuesOf(out, name)).toEqual([]);
    expect(valuesOf(out, 'content-type')).toEqual(['text/plain']);
  });

  it('drops headers named by Connection and keeps repeated set-cookie in order', () => {
    const raw = [
      'Set-Cookie',
      'a=1',
      'Connection',
      'X-Internal',
      'x-internal',
      'secret',
      'set-cookie',
      'b=2',
      'Content-Length',
      '5',
    ];
    expect(pairs(filterResponseHeaders(raw))).toEqual([
      ['Set-Cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['Content-Length', '5'],
    ]);
  });

  it('decodes undici Buffers as latin1 so obs-text bytes survive', () => {
    const raw = [Buffer.from('X-Name'), Buffer.from([0x63, 0x61, 0x66, 0xe9])];
    expect(filterResponseHeaders(raw)).toEqual(['X-Name', 'caf\u00e9']);
  });
});
