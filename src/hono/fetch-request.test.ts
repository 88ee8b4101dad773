import { describe, expect, it } from 'vitest';
import { readRequest } from '../request/facts.js';
import { TrustedProxies } from '../request/trusted-proxies.js';
import { rawRequestOf } from './fetch-request.js';

const READER = {
  maxTargetLength: 8_192,
  maxHeaderCount: 100,
  trustedProxies: new TrustedProxies([]),
  allowUnderscores: false,
};

describe('rawRequestOf', () => {
  it('hands the reader the path and query Hono routes on, and the headers as fetch joins them', () => {
    const raw = rawRequestOf(
      new Request('http://api.example:8080/repos/acme/api/issues?state=open', {
        headers: { authorization: 'Bearer x', 'x-trace': 'a' },
      }),
    );
    expect(raw).toMatchObject({ method: 'GET', url: '/repos/acme/api/issues?state=open', peerAddress: '' });
    expect(raw.rawHeaders).toEqual(['authorization', 'Bearer x', 'x-trace', 'a', 'host', 'api.example:8080']);
  });

  it('resolves nothing itself: what the URL parser left is what the reader checks', () => {
    // WHATWG URL parsing already resolved the dot segment; the app's router sees the same path.
    expect(rawRequestOf(new Request('http://h/repos/acme/x/../api')).url).toBe('/repos/acme/api');
    expect(rawRequestOf(new Request('http://h')).url).toBe('/');
    expect(rawRequestOf(new Request('http://h/a#frag')).url).toBe('/a');
    const encoded = readRequest(rawRequestOf(new Request('http://h/repos/acme/%2e%2e%5capi')), READER);
    expect(encoded.kind).toBe('shape');
  });

  it('turns two Authorization fields into one value the reader refuses as two credentials', () => {
    const headers = new Headers();
    headers.append('authorization', 'Bearer one');
    headers.append('authorization', 'Bearer two');
    const facts = readRequest(rawRequestOf(new Request('http://h/x', { headers })), READER);
    expect(facts.kind).toBe('facts');
    if (facts.kind !== 'facts') return;
    expect(facts.credential).toEqual({
      kind: 'invalid',
      detail: 'Authorization header holds more than one credential',
    });
  });

  it('believes no X-Forwarded-For: a fetch handler knows no peer to trust', () => {
    const facts = readRequest(
      rawRequestOf(new Request('http://h/x', { headers: { 'x-forwarded-for': '10.0.0.1' } })),
      READER,
    );
    expect(facts.kind === 'facts' && facts.forwardedFor).toBe(undefined);
  });
});
