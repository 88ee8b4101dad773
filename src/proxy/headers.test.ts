import { describe, expect, it } from 'vitest';
import { buildUpstreamHeaders, filterResponseHeaders, type UpstreamHeaderContext } from './headers.js';

const context: UpstreamHeaderContext = {
  user: 'alice',
  tokenId: 'tok_123',
  clientIp: '203.0.113.7',
  proto: 'https',
  host: 'api.example.com',
};
const UPSTREAM_HOST = '127.0.0.1:9000';

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

describe('buildUpstreamHeaders', () => {
  it.each([
    'authorization',
    'proxy-authorization',
    'connection',
    'keep-alive',
    'proxy-connection',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'expect',
    'forwarded',
    'x-real-ip',
    'x-original-url',
    'x-rewrite-url',
    'x-http-method-override',
    'x-http-method',
    'x-method-override',
    'x-patgate-anything',
  ])('drops the client header %s', (name) => {
    const out = buildUpstreamHeaders([name, 'client-value', 'accept', '*/*'], context, UPSTREAM_HOST);
    expect(valuesOf(out, name)).toEqual([]);
    expect(valuesOf(out, 'accept')).toEqual(['*/*']);
  });

  it.each(['Authorization', 'AUTHORIZATION', 'X-Patgate-User', 'X-PATGATE-TOKEN-ID', 'Transfer-Encoding'])(
    'matches names case-insensitively (%s)',
    (name) => {
      const out = buildUpstreamHeaders([name, 'client-value'], { ...context, tokenId: null }, UPSTREAM_HOST);
      expect(out).not.toContain('client-value');
    },
  );

  it.each([
    ['host', UPSTREAM_HOST],
    ['x-forwarded-for', '203.0.113.7'],
    ['x-forwarded-proto', 'https'],
    ['x-forwarded-host', 'api.example.com'],
    ['x-patgate-user', 'alice'],
    ['x-patgate-token-id', 'tok_123'],
  ])('replaces a client %s with exactly one gateway value', (name, expected) => {
    const raw = [name, 'spoofed', name.toUpperCase(), 'spoofed-again'];
    const out = buildUpstreamHeaders(raw, context, UPSTREAM_HOST);
    expect(valuesOf(out, name)).toEqual([expected]);
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
    const out = buildUpstreamHeaders(raw, context, UPSTREAM_HOST);
    expect(valuesOf(out, 'x-secret')).toEqual([]);
    expect(valuesOf(out, 'x-other')).toEqual([]);
    expect(valuesOf(out, 'x-third')).toEqual([]);
    expect(valuesOf(out, 'accept')).toEqual(['*/*']);
  });

  it('keeps the gateway headers even when the client names them in Connection', () => {
    const raw = ['Connection', 'x-forwarded-for, host, x-patgate-user'];
    const out = buildUpstreamHeaders(raw, context, UPSTREAM_HOST);
    expect(valuesOf(out, 'host')).toEqual([UPSTREAM_HOST]);
    expect(valuesOf(out, 'x-forwarded-for')).toEqual(['203.0.113.7']);
    expect(valuesOf(out, 'x-patgate-user')).toEqual(['alice']);
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
    const out = buildUpstreamHeaders(raw, context, UPSTREAM_HOST);
    expect(pairs(out)).toEqual([
      ['host', UPSTREAM_HOST],
      ['Content-Type', 'application/json'],
      ['Content-Length', '42'],
      ['X-Custom', 'a'],
      ['x-custom', 'b'],
      ['x-forwarded-for', '203.0.113.7'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'api.example.com'],
      ['x-patgate-user', 'alice'],
      ['x-patgate-token-id', 'tok_123'],
    ]);
  });

  it('sends no identity headers on a public route and no x-forwarded-host without a client Host', () => {
    const out = buildUpstreamHeaders(
      ['X-Patgate-User', 'mallory'],
      { ...context, tokenId: null, host: undefined },
      UPSTREAM_HOST,
    );
    expect(pairs(out)).toEqual([
      ['host', UPSTREAM_HOST],
      ['x-forwarded-for', '203.0.113.7'],
      ['x-forwarded-proto', 'https'],
    ]);
  });

  describe('from a trusted proxy', () => {
    const trusted: UpstreamHeaderContext = { ...context, clientIp: '10.0.0.2', trustedPeer: true };

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
      const out = buildUpstreamHeaders(raw, trusted, UPSTREAM_HOST);
      expect(valuesOf(out, 'x-forwarded-for')).toEqual(['198.51.100.1, 203.0.113.9, 10.0.0.1, 10.0.0.2']);
      expect(valuesOf(out, 'x-forwarded-proto')).toEqual(['https']);
      expect(valuesOf(out, 'x-forwarded-host')).toEqual(['public.example']);
    });

    it('fills in what the proxy did not send', () => {
      const out = buildUpstreamHeaders([], { ...trusted, proto: 'http' }, UPSTREAM_HOST);
      expect(valuesOf(out, 'x-forwarded-for')).toEqual(['10.0.0.2']);
      expect(valuesOf(out, 'x-forwarded-proto')).toEqual(['http']);
      expect(valuesOf(out, 'x-forwarded-host')).toEqual(['api.example.com']);
    });

    it('still drops Forwarded, X-Real-IP and identity headers', () => {
      const raw = ['forwarded', 'for=1.2.3.4', 'x-real-ip', '1.2.3.4', 'x-patgate-user', 'mallory'];
      const out = buildUpstreamHeaders(raw, trusted, UPSTREAM_HOST);
      expect(valuesOf(out, 'forwarded')).toEqual([]);
      expect(valuesOf(out, 'x-real-ip')).toEqual([]);
      expect(valuesOf(out, 'x-patgate-user')).toEqual(['alice']);
    });
  });

  it('ignores a dangling name without a value', () => {
    const out = buildUpstreamHeaders(
      ['accept', '*/*', 'dangling'],
      { ...context, tokenId: null },
      UPSTREAM_HOST,
    );
    expect(valuesOf(out, 'dangling')).toEqual([]);
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
