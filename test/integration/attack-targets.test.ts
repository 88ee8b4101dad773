import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttackStack,
  authLines,
  expectProblem,
  headerValues,
  rawRequest,
  refusedRaw,
  startAttackStack,
} from '../helpers/attack-stack.js';
import { only, sendRaw } from '../helpers/raw-socket.js';

/**
 * The request line under attack, written byte for byte on a socket: targets two servers could
 * read differently, methods the gateway does not forward, method overrides, HEAD and OPTIONS.
 * Every refusal also proves that the upstream received nothing.
 */
describe('attack: request targets and methods', () => {
  let stack: AttackStack;

  beforeAll(async () => {
    stack = await startAttackStack({ limits: ['max_target_length: 2048'] });
  });

  afterAll(async () => {
    await stack?.close();
    const logs = stack.gateway.output.join('\n');
    for (const secret of stack.secrets) expect(logs).not.toContain(secret);
  });

  describe('allowed targets are forwarded byte for byte', () => {
    it.each([
      '/repos/acme/api/contents/docs/a%20b.md?ref=main&x=%2F&y=%41',
      '/repos/acme/api/contents/%C3%A9t%C3%A9.md',
      '/repos/acme/api/contents/a.b/.a/a./.../x..',
      "/repos/acme/api/contents/a:b@c!$&'()*+,=-_~",
      '/repos/acme/api/issues?path=../../etc/passwd&q=%2e%2e%2f',
      '/repos/acme/api/issues?',
      '/repos/ACME/Api/issues',
    ])('%s', async (target) => {
      const forwarded = await stack.forwardedDuring(async () => {
        const response = only(await sendRaw(stack.url, rawRequest('GET', target, authLines(stack))));
        expect(response.status, response.text).toBe(200);
      });
      expect(forwarded.map((r) => r.url)).toEqual([target]);
    });

    it('a target exactly at max_target_length is served', async () => {
      const prefix = '/repos/acme/api/contents/';
      const target = prefix + 'a'.repeat(2048 - prefix.length);
      const forwarded = await stack.forwardedDuring(async () => {
        expect(only(await sendRaw(stack.url, rawRequest('GET', target, authLines(stack)))).status).toBe(200);
      });
      expect(forwarded.map((r) => r.url)).toEqual([target]);
    });
  });

  describe('ambiguous targets: 400, nothing forwarded', () => {
    it.each([
      ['encoded slash', '/repos/acme/api%2Fissues'],
      ['encoded slash, lower case', '/repos/acme/api%2fissues'],
      ['encoded backslash', '/repos/acme/api%5Cissues'],
      ['encoded dot segments', '/repos/acme/api/contents/%2e%2e/%2E%2E/web/x'],
      ['half-encoded dot segment', '/repos/acme/api/contents/.%2E/x'],
      ['single encoded dot segment', '/repos/acme/api/contents/%2e/x'],
      ['double-encoded dot segment', '/repos/acme/api/contents/%252e%252e/x'],
      ['double-encoded slash', '/repos/acme/api%252Fissues'],
      ['encoded NUL', '/repos/acme/api/contents/a%00.md'],
      ['encoded control byte', '/repos/acme/api/contents/a%0d%0a.md'],
      ['dot-dot segment', '/repos/acme/api/../web/issues'],
      ['dot segment', '/repos/acme/./api/issues'],
      ['dot-dot at the end', '/repos/acme/api/contents/..'],
      ['empty segment', '/repos//acme/api/issues'],
      ['network-path reference', '//evil.example/repos/acme/api/issues'],
      ['trailing slash', '/repos/acme/api/issues/'],
      ['backslash', '/repos/acme/api\\issues'],
      ['backslash prefix', '/\\evil.example/repos'],
      ['path parameter', '/repos/acme/api;x=1/issues'],
      ['jsessionid-style parameter', '/repos/acme/api/issues;jsessionid=1'],
      ['fragment', '/repos/acme/api/issues#frag'],
      ['fragment in the query', '/repos/acme/api/issues?a=1#frag'],
      ['absolute-form', 'http://127.0.0.1/repos/acme/api/issues'],
      ['absolute-form, another host', 'http://evil.example/repos/acme/api/issues'],
      ['authority-form on GET', 'evil.example:443'],
      ['asterisk-form', '*'],
      ['raw UTF-8 bytes', '/repos/acme/api/contents/caf\xc3\xa9'],
      ['raw Latin-1 byte in the query', '/repos/acme/api/issues?q=caf\xe9'],
      ['overlong UTF-8 slash', '/repos/acme/api/contents/a%c0%afb'],
      ['UTF-16 surrogate', '/repos/acme/api/contents/%ed%a0%80'],
      ['truncated UTF-8', '/repos/acme/api/contents/%C3'],
      ['lone percent', '/repos/acme/api/contents/100%'],
      ['bad hex', '/repos/acme/api/contents/%zz'],
      ['DEL byte', '/repos/acme/api/contents/a\x7fb'],
    ])('%s', async (_label, target) => {
      const { response } = await refusedRaw(stack, rawRequest('GET', target, authLines(stack)));
      expect(response.status).toBe(400);
      // llhttp refuses some of these itself (a raw byte it will not take in a target); the
      // rest are refused by the target check, with a problem+json body either way.
      expect(response.header('content-type')).toBe('application/problem+json');
    });

    it('a target past max_target_length: 414', async () => {
      const target = `/repos/acme/api/contents/${'a'.repeat(2048)}`;
      const { response } = await refusedRaw(stack, rawRequest('GET', target, authLines(stack)));
      expectProblem(response, 414, 'target_too_long');
    });

    it('routes are case-sensitive: /Repos is no route (404)', async () => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/Repos/acme/api/issues', authLines(stack)),
      );
      expectProblem(response, 404);
    });

    it('the query never routes: a hidden repository stays hidden whatever the query says', async () => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/repos/acme/web/issues?x=/repos/acme/api/issues', authLines(stack, stack.reader)),
      );
      expectProblem(response, 404);
    });
  });

  describe('methods', () => {
    it.each(['TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'SEARCH', 'PURGE', 'REPORT'])(
      '%s: 501, nothing forwarded',
      async (method) => {
        const { response } = await refusedRaw(stack, rawRequest(method, '/status', [`Host: ${stack.host}`]));
        expectProblem(response, 501, 'method_not_implemented');
      },
    );

    it.each([
      ['CONNECT (tunnel)', 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n'],
      ['lower-case get (another method)', 'get /status HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['unknown token', 'FOO /status HTTP/1.1\r\nHost: x\r\n\r\n'],
    ])('%s: 501, nothing forwarded', async (_label, bytes) => {
      const { response, closedByServer } = await refusedRaw(stack, bytes);
      expectProblem(response, 501, 'method_not_implemented');
      expect(closedByServer || response.header('connection') === 'close').toBe(true);
    });

    it.each([
      ['HTTP/2.0 request line', 'GET /status HTTP/2.0\r\nHost: x\r\n\r\n', 505],
      ['HTTP/1.2', 'GET /status HTTP/1.2\r\nHost: x\r\n\r\n', 400],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
    ])('%s: refused, nothing forwarded', async (_label, bytes, status) => {
      const { response } = await refusedRaw(stack, bytes);
      expectProblem(response, status);
    });

    it('HTTP/0.9-style request line: refused, nothing forwarded', async () => {
      const forwarded = await stack.forwardedDuring(async () => {
        const exchange = await sendRaw(stack.url, 'GET /status\r\n\r\n');
        // Node answers an HTTP/0.9 request without a status line; what matters is no 2xx.
        expect(exchange.raw.toString('latin1')).not.toMatch(/^HTTP\/1\.[01] 2/);
      });
      expect(forwarded).toEqual([]);
    });

    it.each([
      ['X-HTTP-Method-Override', ['X-HTTP-Method-Override: DELETE']],
      ['X-HTTP-Method', ['X-HTTP-Method: DELETE']],
      ['X-Method-Override', ['x-method-override: PUT']],
    ])('%s header: 400, nothing forwarded', async (_label, extra) => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('POST', '/repos/acme/api/issues', [...authLines(stack), ...extra, 'Content-Length: 0']),
      );
      expectProblem(response, 400, 'method_override');
    });

    it.each([
      '/repos/acme/api/issues?_method=DELETE',
      '/repos/acme/api/issues?a=1;_method=DELETE',
      '/repos/acme/api/issues?%5Fmethod=DELETE',
      '/repos/acme/api/issues?.method=DELETE',
      '/repos/acme/api/issues?x-http-method-override=DELETE',
    ])('%s: 400, nothing forwarded', async (target) => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('POST', target, [...authLines(stack), 'Content-Length: 0']),
      );
      expectProblem(response, 400, 'method_override');
    });

    it.each([
      ['urlencoded', 'application/x-www-form-urlencoded', 'title=x&_method=DELETE'],
      ['no content type (Rack reads it as a form)', null, 'title=x&_method=DELETE'],
      ['urlencoded, encoded name', 'application/x-www-form-urlencoded', 'title=x&%5Fmethod=DELETE'],
      [
        'multipart',
        'multipart/form-data; boundary=b',
        '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n',
      ],
    ])(
      '_method in a %s body: 400, the upstream never gets a complete request',
      async (_label, type, body) => {
        const headers = [...authLines(stack), `Content-Length: ${body.length}`];
        if (type !== null) headers.push(`Content-Type: ${type}`);
        const forwarded = await stack.forwardedDuring(async () => {
          const response = only(
            await sendRaw(stack.url, rawRequest('POST', '/repos/acme/api/issues', headers, body)),
          );
          expectProblem(response, 400, 'method_override');
        });
        for (const seen of forwarded) {
          await seen.settled;
          expect(seen.bodySha256, 'the upstream must not have read a whole body').toBeNull();
        }
      },
    );

    it('a form body without _method is forwarded whole', async () => {
      const body = 'title=hello&method=DELETE&x_method=1';
      const forwarded = await stack.forwardedDuring(async () => {
        const response = only(
          await sendRaw(
            stack.url,
            rawRequest(
              'POST',
              '/repos/acme/api/issues',
              [
                ...authLines(stack),
                'Content-Type: application/x-www-form-urlencoded',
                `Content-Length: ${body.length}`,
              ],
              body,
            ),
          ),
        );
        expect(response.status).toBe(200);
      });
      expect(forwarded.map((r) => [r.method, r.bodyLength])).toEqual([['POST', body.length]]);
    });

    it('HEAD uses the GET rule and is forwarded as HEAD', async () => {
      const forwarded = await stack.forwardedDuring(async () => {
        const exchange = await sendRaw(
          stack.url,
          rawRequest('HEAD', '/repos/acme/api/issues', authLines(stack)),
          {
            head: true,
          },
        );
        expect(only(exchange).status).toBe(200);
        expect(only(exchange).body.length).toBe(0);
      });
      expect(forwarded.map((r) => `${r.method} ${r.url}`)).toEqual(['HEAD /repos/acme/api/issues']);
    });

    it('HEAD without a token is refused like GET', async () => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('HEAD', '/repos/acme/api/issues', [`Host: ${stack.host}`]),
        { head: true },
      );
      expect(response.status).toBe(401);
    });

    const preflight = (target: string): Buffer =>
      rawRequest('OPTIONS', target, [
        `Host: ${stack.host}`,
        'Origin: https://evil.example',
        'Access-Control-Request-Method: DELETE',
        'Access-Control-Request-Headers: authorization',
      ]);

    it('a CORS preflight to a path with no OPTIONS rule is no route (404), never forwarded', async () => {
      const { response } = await refusedRaw(stack, preflight('/repos/acme/api/issues'));
      expectProblem(response, 404);
    });

    it('a CORS preflight without a token to a "*" rule needs a token like any method (401)', async () => {
      const { response } = await refusedRaw(stack, preflight('/any/thing'));
      expect(response.status).toBe(401);
    });

    it('OPTIONS on a route the operator made public is forwarded without identity', async () => {
      const forwarded = await stack.forwardedDuring(async () => {
        const response = only(
          await sendRaw(
            stack.url,
            rawRequest('OPTIONS', '/preflight/x', [...authLines(stack), 'Origin: https://app.example']),
          ),
        );
        expect(response.status).toBe(200);
      });
      expect(forwarded.map((r) => `${r.method} ${r.url}`)).toEqual(['OPTIONS /preflight/x']);
      const seen = forwarded[0];
      if (seen === undefined) throw new Error('not forwarded');
      expect(headerValues(seen, 'x-patgate-user')).toEqual([]);
      expect(headerValues(seen, 'authorization')).toEqual([]);
    });
  });
});
