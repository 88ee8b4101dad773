import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/tokens/format.js';
import {
  type AttackStack,
  authLines,
  expectProblem,
  headerValues,
  rawRequest,
  refusedRaw,
  startAttackStack,
} from '../helpers/attack-stack.js';
import { only, type RawResponse, sendRaw } from '../helpers/raw-socket.js';
import type { RecordedRequest } from '../helpers/upstream.js';

/**
 * Headers under attack: credentials (one, in the header only, never echoed or logged),
 * identities and provenance the client must not assert, Host, and the hygiene of what is
 * forwarded. Written raw, so repeated and oddly spelled fields reach the gateway as sent.
 */
describe('attack: headers, Host and secrets', () => {
  let stack: AttackStack;

  beforeAll(async () => {
    stack = await startAttackStack();
  });

  afterAll(async () => {
    await stack?.close();
    // No token, valid or not, ever reaches a log line.
    const logs = stack.gateway.output.join('\n');
    for (const secret of stack.secrets) expect(logs).not.toContain(secret);
  });

  /** One allowed request; returns what the upstream received. */
  async function forwardedOnce(
    target: string,
    lines: readonly string[],
    method = 'GET',
  ): Promise<{ response: RawResponse; seen: RecordedRequest }> {
    let response: RawResponse | undefined;
    const forwarded = await stack.forwardedDuring(async () => {
      response = only(await sendRaw(stack.url, rawRequest(method, target, lines)));
    });
    const seen = forwarded[0];
    if (response === undefined || seen === undefined || forwarded.length !== 1) {
      throw new Error(`expected one forwarded request, got ${forwarded.length}: ${response?.text}`);
    }
    return { response, seen };
  }

  describe('credentials', () => {
    it.each([
      [
        'two Authorization headers',
        (t: string) => [`Authorization: Bearer ${t}`, `Authorization: Bearer ${t}`],
      ],
      [
        'two Authorization headers, spelled differently',
        (t: string) => [`Authorization: Bearer ${t}`, `AUTHORIZATION: Bearer ${t}`],
      ],
      ['two credentials in one header', (t: string) => [`Authorization: Bearer ${t}, Bearer ${t}`]],
      ['Basic scheme', () => ['Authorization: Basic YWxpY2U6c2VjcmV0']],
      ['token without a scheme', (t: string) => [`Authorization: ${t}`]],
      ['quoted token', (t: string) => [`Authorization: Bearer "${t}"`]],
      [
        'altered checksum',
        (t: string) => [`Authorization: Bearer ${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`],
      ],
    ])('%s: 401, nothing forwarded, the credential never echoed', async (_label, lines) => {
      const credentialLines = lines(stack.token.token);
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/repos/acme/api/issues', [`Host: ${stack.host}`, ...credentialLines]),
      );
      expect(response.status).toBe(401);
      expect(response.header('www-authenticate')).toMatch(/^Bearer realm="patgate"/);
      expect(response.text).not.toContain(stack.token.token.slice(4, 20));
    });

    it.each([
      ['access_token parameter', (t: string) => `/repos/acme/api/issues?access_token=${t}`],
      ['access_token with any value', () => '/repos/acme/api/issues?access_token=x'],
      ['a token as any parameter value', (t: string) => `/repos/acme/api/issues?state=open&key=${t}`],
      ['a percent-encoded token', (t: string) => `/repos/acme/api/issues?key=%70gt%5F${t.slice(4)}`],
      ['a token on a public route', (t: string) => `/status?t=${t}`],
    ])('%s, even with a valid header: 400, nothing forwarded', async (_label, target) => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', target(stack.token.token), authLines(stack)),
      );
      expectProblem(response, 400, 'token_in_query');
      expect(response.text).not.toContain(stack.token.token.slice(4));
    });

    it('a well-formed token that was never issued: 401 unknown, not echoed', async () => {
      const guessed = generateToken('fine_grained');
      stack.secrets.push(guessed);
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/repos/acme/api/issues', [
          `Host: ${stack.host}`,
          `Authorization: Bearer ${guessed}`,
        ]),
      );
      expect(response.status).toBe(401);
      expect(response.text).not.toContain(guessed);
    });

    it('hide_forbidden: a repository outside the token answers byte for byte like no route', async () => {
      const lines = authLines(stack, stack.reader);
      const hidden = await refusedRaw(stack, rawRequest('GET', '/repos/acme/web/issues', lines));
      const otherOwner = await refusedRaw(stack, rawRequest('GET', '/repos/globex/api/issues', lines));
      const noRoute = await refusedRaw(stack, rawRequest('GET', '/nothing/here', lines));
      expect(hidden.response.status).toBe(404);
      expect(hidden.response.body.equals(noRoute.response.body)).toBe(true);
      expect(otherOwner.response.body.equals(noRoute.response.body)).toBe(true);
      const headerNames = (r: RawResponse) => Object.keys(r.headers).sort();
      expect(headerNames(hidden.response)).toEqual(headerNames(noRoute.response));
    });

    it('the token never reaches the upstream; the identity does', async () => {
      const { seen } = await forwardedOnce('/repos/acme/api/issues', authLines(stack));
      expect(seen.rawHeaders.join('\n')).not.toContain(stack.token.token);
      expect(headerValues(seen, 'authorization')).toEqual([]);
      expect(headerValues(seen, 'x-patgate-user')).toEqual(['bob']);
      expect(headerValues(seen, 'x-patgate-token-id')).toEqual([stack.token.id]);
    });
  });

  describe('hygiene of forwarded headers', () => {
    it('client identity and provenance headers never reach the upstream as sent', async () => {
      const { seen } = await forwardedOnce('/repos/acme/api/issues', [
        ...authLines(stack),
        'X-Patgate-User: mallory',
        'x-patgate-user: mallory2',
        'X-PATGATE-TOKEN-ID: tok_forged',
        'X-Patgate-Anything: x',
        'X-Forwarded-For: 6.6.6.6',
        'X-Forwarded-Proto: https',
        'X-Forwarded-Host: evil.example',
        'Forwarded: for=6.6.6.6;host=evil.example;proto=https',
        'X-Real-IP: 6.6.6.6',
        'X-Original-URL: /admin',
        'X-Rewrite-URL: /admin',
        'Proxy-Authorization: Basic Zm9vOmJhcg==',
      ]);
      expect(headerValues(seen, 'x-patgate-user')).toEqual(['bob']);
      expect(headerValues(seen, 'x-patgate-token-id')).toEqual([stack.token.id]);
      expect(headerValues(seen, 'x-patgate-anything')).toEqual([]);
      expect(headerValues(seen, 'x-forwarded-for')).toEqual(['127.0.0.1']);
      expect(headerValues(seen, 'x-forwarded-proto')).toEqual(['http']);
      expect(headerValues(seen, 'x-forwarded-host')).toEqual([stack.host]);
      for (const name of [
        'forwarded',
        'x-real-ip',
        'x-original-url',
        'x-rewrite-url',
        'proxy-authorization',
      ]) {
        expect(headerValues(seen, name), name).toEqual([]);
      }
      expect(seen.url).toBe('/repos/acme/api/issues');
    });

    it('hop-by-hop headers and every header Connection names are dropped', async () => {
      const { seen } = await forwardedOnce('/repos/acme/api/issues', [
        ...authLines(stack),
        'Connection: keep-alive, X-Secret-Hop',
        'Connection: X-Second-Hop',
        'X-Secret-Hop: 1',
        'X-Second-Hop: 2',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Trailer: X-Late',
        'Upgrade: websocket',
        'Proxy-Connection: keep-alive',
        'X-Kept: yes',
      ]);
      for (const name of [
        'x-secret-hop',
        'x-second-hop',
        'keep-alive',
        'te',
        'trailer',
        'upgrade',
        'proxy-connection',
      ]) {
        expect(headerValues(seen, name), name).toEqual([]);
      }
      expect(headerValues(seen, 'x-kept')).toEqual(['yes']);
    });

    it('an Upgrade request is forwarded as a plain request, never as a tunnel', async () => {
      const { response, seen } = await forwardedOnce('/repos/acme/api/issues', [
        ...authLines(stack),
        'Connection: Upgrade',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAAQAAP__',
      ]);
      expect(response.status).toBe(200);
      expect(headerValues(seen, 'upgrade')).toEqual([]);
    });
  });

  describe('Host', () => {
    it('the upstream gets its own Host; the client Host goes in X-Forwarded-Host', async () => {
      const { seen } = await forwardedOnce('/repos/acme/api/issues', [
        'Host: public.example:8443',
        `Authorization: Bearer ${stack.token.token}`,
      ]);
      expect(headerValues(seen, 'host')).toEqual([new URL(stack.upstream.url).host]);
      expect(headerValues(seen, 'x-forwarded-host')).toEqual(['public.example:8443']);
    });

    it.each([
      ['no Host in HTTP/1.1', [], 'missing_host'],
      ['two Host headers', ['Host: a.example', 'Host: b.example'], 'duplicate_host'],
      ['two Host headers, same value', ['Host: a.example', 'host: a.example'], 'duplicate_host'],
      ['Host with a path', ['Host: a.example/admin'], 'bad_host'],
      ['Host with userinfo', ['Host: user@a.example'], 'bad_host'],
      ['Host list', ['Host: a.example, b.example'], 'bad_host'],
      ['Host with a bad port', ['Host: a.example:80x'], 'bad_host'],
      ['empty Host', ['Host:'], 'bad_host'],
    ])('%s: 400, nothing forwarded', async (_label, hostLines, type) => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/repos/acme/api/issues', [
          ...hostLines,
          `Authorization: Bearer ${stack.token.token}`,
        ]),
      );
      expectProblem(response, 400, type);
    });

    it('an HTTP/1.0 request without Host is served, with no X-Forwarded-Host', async () => {
      let response: RawResponse | undefined;
      const forwarded = await stack.forwardedDuring(async () => {
        response = only(
          await sendRaw(
            stack.url,
            `GET /repos/acme/api/issues HTTP/1.0\r\nAuthorization: Bearer ${stack.token.token}\r\n\r\n`,
          ),
        );
      });
      expect(response?.status).toBe(200);
      expect(forwarded).toHaveLength(1);
      const seen = forwarded[0];
      if (seen === undefined) throw new Error('not forwarded');
      expect(headerValues(seen, 'x-forwarded-host')).toEqual([]);
      expect(headerValues(seen, 'host')).toEqual([new URL(stack.upstream.url).host]);
    });
  });

  describe('trusted proxies', () => {
    it('from a trusted peer: the X-Forwarded-For chain is extended, proto and host kept', async () => {
      const trusted = await startAttackStack({ trustedProxies: ['127.0.0.0/8', '::1'] });
      try {
        let response: RawResponse | undefined;
        const forwarded = await trusted.forwardedDuring(async () => {
          response = only(
            await sendRaw(
              trusted.url,
              rawRequest('GET', '/repos/acme/api/issues', [
                ...authLines(trusted),
                'X-Forwarded-For: 198.51.100.7, 10.0.0.1',
                'X-Forwarded-Proto: https',
                'X-Forwarded-Host: api.example.com',
                'Forwarded: for=6.6.6.6',
              ]),
            ),
          );
        });
        expect(response?.status).toBe(200);
        const seen = forwarded[0];
        if (seen === undefined) throw new Error('not forwarded');
        expect(headerValues(seen, 'x-forwarded-for')).toEqual(['198.51.100.7, 10.0.0.1, 127.0.0.1']);
        expect(headerValues(seen, 'x-forwarded-proto')).toEqual(['https']);
        expect(headerValues(seen, 'x-forwarded-host')).toEqual(['api.example.com']);
        expect(headerValues(seen, 'forwarded')).toEqual([]);
      } finally {
        await trusted.close();
      }
    });

    it('from a peer outside trusted_proxies: all three replaced', async () => {
      const other = await startAttackStack({ trustedProxies: ['10.0.0.0/8'] });
      try {
        const forwarded = await other.forwardedDuring(async () => {
          const response = only(
            await sendRaw(
              other.url,
              rawRequest('GET', '/repos/acme/api/issues', [
                ...authLines(other),
                'X-Forwarded-For: 10.0.0.5',
                'X-Forwarded-Proto: https',
                'X-Forwarded-Host: api.example.com',
              ]),
            ),
          );
          expect(response.status).toBe(200);
        });
        const seen = forwarded[0];
        if (seen === undefined) throw new Error('not forwarded');
        expect(headerValues(seen, 'x-forwarded-for')).toEqual(['127.0.0.1']);
        expect(headerValues(seen, 'x-forwarded-proto')).toEqual(['http']);
        expect(headerValues(seen, 'x-forwarded-host')).toEqual([other.host]);
      } finally {
        await other.close();
      }
    });
  });
});
