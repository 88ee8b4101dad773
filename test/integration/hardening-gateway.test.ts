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

// Regression tests, one class each, for what the second hardening review found on the request
// path: each case was forwarded (or answered 2xx) before the fix.

let stack: AttackStack;
let permissive: AttackStack;

beforeAll(async () => {
  [stack, permissive] = await Promise.all([
    startAttackStack(),
    startAttackStack({ headers: ['allow_underscores: true'] }),
  ]);
});

afterAll(async () => {
  await Promise.all([stack?.close(), permissive?.close()]);
});

async function forwardedOnce(
  target: AttackStack,
  lines: string[],
  method = 'GET',
  path = '/repos/acme/api/issues',
  body = '',
) {
  const forwarded = await target.forwardedDuring(async () => {
    const response = only(await sendRaw(target.url, rawRequest(method, path, lines, body)));
    expect(response.status, response.text).toBe(200);
  });
  const seen = forwarded[0];
  if (seen === undefined || forwarded.length !== 1)
    throw new Error(`expected one forwarded request, got ${forwarded.length}`);
  return seen;
}

describe('method overrides hidden from the body scanner', () => {
  const form = '_method=DELETE';
  it.each([
    ['Connection names Content-Type', ['Content-Type: text/plain', 'Connection: content-type']],
    [
      'Connection names Content-Length',
      ['Content-Type: text/plain', 'Connection: keep-alive, Content-Length'],
    ],
    [
      'a comma after the form type (Rack and PHP cut there)',
      ['Content-Type: application/x-www-form-urlencoded,x'],
    ],
    [
      'two Content-Type fields',
      ['Content-Type: text/plain', 'Content-Type: application/x-www-form-urlencoded'],
    ],
    ['a Content-Type that is no media type', ['Content-Type: form']],
  ])('%s: 400, nothing forwarded', async (_label, lines) => {
    const { response } = await refusedRaw(
      stack,
      rawRequest(
        'POST',
        '/upload/a',
        [...authLines(stack), ...lines, `Content-Length: ${form.length}`],
        form,
      ),
    );
    const body = expectProblem(response, 400);
    expect(String(body.type)).toMatch(/\/(bad_content_type|connection_names_end_to_end)$/);
  });

  it('a well-formed type with parameters still passes', async () => {
    const seen = await forwardedOnce(
      stack,
      [
        ...authLines(stack),
        'Content-Type: text/plain; charset="utf-8"',
        'Content-Length: 2',
        'Connection: keep-alive',
      ],
      'POST',
      '/upload/a',
      'ok',
    );
    expect(headerValues(seen, 'content-type')).toEqual(['text/plain; charset="utf-8"']);
  });
});

describe('underscore spellings of identity headers', () => {
  const spoofed = [
    'X_Patgate_User: mallory',
    'X-Patgate_User: mallory',
    'x_patgate_token_id: tok_forged',
    'X_Forwarded_For: 10.9.9.9',
    'X_Forwarded_Host: evil.example',
    'X_Real_IP: 10.9.9.9',
  ];

  it('are dropped with every other underscore name by default', async () => {
    const seen = await forwardedOnce(stack, [...authLines(stack), ...spoofed, 'X_Custom: kept?']);
    const names = [];
    for (let i = 0; i < seen.rawHeaders.length; i += 2) names.push(seen.rawHeaders[i] ?? '');
    expect(names.filter((n) => n.includes('_'))).toEqual([]);
    expect(headerValues(seen, 'x-patgate-user')).toEqual(['bob']);
  });

  it('are dropped with headers.allow_underscores, while other underscore names pass', async () => {
    const seen = await forwardedOnce(permissive, [...authLines(permissive), ...spoofed, 'X_Custom: kept']);
    const names = [];
    for (let i = 0; i < seen.rawHeaders.length; i += 2) names.push(seen.rawHeaders[i] ?? '');
    expect(names.filter((n) => n.includes('_'))).toEqual(['X_Custom']);
    expect(headerValues(seen, 'x-patgate-user')).toEqual(['bob']);
    expect(headerValues(seen, 'x-patgate-token-id')).toEqual([permissive.token.id]);
  });
});

describe('encoded delimiters', () => {
  it.each([
    '/repos/acme/api/issues/..%3B',
    '/repos/acme/api/issues/1%3bjsessionid=x',
    '/repos/acme/api/issues/1%3F',
    '/repos/acme/api/issues/1%23frag',
    '/any/a%3B/b',
  ])('%s: 400, nothing forwarded', async (target) => {
    const { response } = await refusedRaw(stack, rawRequest('GET', target, authLines(stack)));
    expectProblem(response, 400, 'bad_request_target');
  });

  it('encoded spaces and other data stay allowed', async () => {
    const seen = await forwardedOnce(stack, authLines(stack), 'GET', '/any/a%20b/%C3%A9t%C3%A9');
    expect(seen.url).toBe('/any/a%20b/%C3%A9t%C3%A9');
  });
});

describe('a token outside Authorization', () => {
  it.each([
    ['a cookie', (t: string) => [`Cookie: session=${t}`]],
    ['another header', (t: string) => [`X-Api-Key: ${t}`]],
    ['Proxy-Authorization', (t: string) => [`Proxy-Authorization: Bearer ${t}`]],
    ['an underscore header that would be dropped', (t: string) => [`X_Token: ${t}`]],
  ])('in %s: 400, nothing forwarded, never echoed', async (_label, lines) => {
    const { response } = await refusedRaw(
      stack,
      rawRequest('GET', '/repos/acme/api/issues', [...authLines(stack), ...lines(stack.token.token)]),
    );
    expectProblem(response, 400, 'token_outside_authorization');
    expect(response.text).not.toContain(stack.token.token.slice(4, 20));
  });

  it.each([
    ['as is', (t: string) => `/any/${t}`],
    ['percent-encoded', (t: string) => `/any/%70gt%5F${t.slice(4)}`],
    ['on a public route', (t: string) => `/preflight/${t}`],
  ])('in the path, %s: 400, nothing forwarded', async (_label, target) => {
    const { response } = await refusedRaw(
      stack,
      rawRequest('GET', target(stack.token.token), authLines(stack)),
    );
    expectProblem(response, 400, 'token_outside_authorization');
  });

  it('a lookalike with a wrong checksum is only data', async () => {
    const t = stack.token.token;
    const lookalike = `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`;
    const seen = await forwardedOnce(stack, [...authLines(stack), `X-Note: ${lookalike}`]);
    expect(headerValues(seen, 'x-note')).toEqual([lookalike]);
  });
});
