import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/tokens/format.js';
import { freePort } from '../helpers/free-port.js';
import { startGateway } from '../helpers/gateway-process.js';
import {
  admin,
  type CreatedToken,
  call,
  createToken,
  eventually,
  type Stack,
  type StoreKind,
  stackConfig,
  startStack,
} from '../helpers/stack.js';
import type { RecordedRequest } from '../helpers/upstream.js';

function header(recorded: RecordedRequest, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < recorded.rawHeaders.length; i += 2) {
    if (recorded.rawHeaders[i]?.toLowerCase() === name) out.push(recorded.rawHeaders[i + 1] ?? '');
  }
  return out;
}

function expectProblem(
  answer: { headers: Record<string, unknown>; json(): Record<string, unknown> },
  status: number,
): Record<string, unknown> {
  expect(answer.headers['content-type']).toBe('application/problem+json');
  const body = answer.json();
  expect(body.status).toBe(status);
  expect(typeof body.type).toBe('string');
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

describe.each<StoreKind>(['memory', 'redis'])('gateway responses on the %s store', (storeKind) => {
  let stack: Stack;
  let gw: string;
  let adminUrl: string;
  let reader: CreatedToken;
  let writer: CreatedToken;
  const secrets: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ store: storeKind, timeoutMs: 1000 });
    gw = stack.gateway.url;
    adminUrl = stack.gateway.adminUrl;
    reader = await createToken(adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read', contents: 'read' },
    });
    writer = await createToken(adminUrl, {
      user: 'bob',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'write', pull_requests: 'write', members: 'read' },
    });
    secrets.push(reader.token, writer.token);
  });

  afterAll(async () => {
    await stack?.close();
    // The token never appears in a log line.
    const logs = stack.gateway.output.join('\n');
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });

  describe('allowed', () => {
    it('forwards with identity headers, without the token, with hygiene, and reports the expiry', async () => {
      const before = stack.upstream.requests.length;
      const answer = await call(gw, 'GET', '/repos/acme/api/issues?state=open', {
        token: reader.token,
        headers: {
          'x-patgate-user': 'mallory',
          'x-patgate-token-id': 'tok_forged',
          'x-forwarded-for': '6.6.6.6',
          'x-forwarded-host': 'evil.example',
        },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['x-patgate-token-expiration']).toBe(reader.expires_at);
      const seen = stack.upstream.requests[before];
      expect(seen).toBeDefined();
      if (seen === undefined) return;
      expect(seen.url).toBe('/repos/acme/api/issues?state=open');
      expect(header(seen, 'authorization')).toEqual([]);
      expect(header(seen, 'x-patgate-user')).toEqual(['alice']);
      expect(header(seen, 'x-patgate-token-id')).toEqual([reader.id]);
      expect(header(seen, 'x-forwarded-for')).toEqual(['127.0.0.1']);
      expect(header(seen, 'x-forwarded-proto')).toEqual(['http']);
      expect(header(seen, 'x-forwarded-host')).toEqual([new URL(gw).host]);
      expect(header(seen, 'host')).toEqual([new URL(stack.upstream.url).host]);
      expect(seen.rawHeaders.join('\n')).not.toContain(reader.token);
    });

    it('drops hop-by-hop headers and every header named in Connection', async () => {
      const before = stack.upstream.requests.length;
      const { port, hostname } = new URL(gw);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: hostname,
            port,
            path: '/repos/acme/api/issues',
            headers: {
              authorization: `Bearer ${reader.token}`,
              connection: 'keep-alive, x-secret-hop',
              'x-secret-hop': 'drop me',
              'keep-alive': 'timeout=5',
              te: 'trailers',
              'proxy-authorization': 'Basic Zm9vOmJhcg==',
              'x-kept': 'yes',
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
      const seen = stack.upstream.requests[before];
      if (seen === undefined) throw new Error('upstream saw nothing');
      for (const name of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization']) {
        expect(header(seen, name), name).toEqual([]);
      }
      expect(header(seen, 'x-kept')).toEqual(['yes']);
    });

    it('forwards the authorized path and query byte for byte', async () => {
      const target = '/repos/acme/api/contents/docs/a%20b.md?ref=main&x=%2F&y=%41';
      const before = stack.upstream.requests.length;
      expect((await call(gw, 'GET', target, { token: reader.token })).status).toBe(200);
      expect(stack.upstream.requests[before]?.url).toBe(target);
    });

    it('lets HEAD use the GET rule and sends no body', async () => {
      const answer = await call(gw, 'HEAD', '/repos/acme/api/issues', { token: reader.token });
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('');
    });

    it('grants implicit metadata:read to every fine-grained token', async () => {
      expect((await call(gw, 'GET', '/repos/acme/api', { token: reader.token })).status).toBe(200);
    });

    it('allows a route needing two permissions together, and an any_of route', async () => {
      expect((await call(gw, 'POST', '/repos/acme/web/pulls/1/merge', { token: writer.token })).status).toBe(
        200,
      );
      expect(
        (await call(gw, 'GET', '/repos/acme/web/issues/1/timeline', { token: writer.token })).status,
      ).toBe(200);
      expect(
        (await call(gw, 'GET', '/repos/acme/api/issues/1/timeline', { token: reader.token })).status,
      ).toBe(200);
    });

    it('matches owner and repository names case-insensitively', async () => {
      expect((await call(gw, 'GET', '/repos/ACME/Api/issues', { token: reader.token })).status).toBe(200);
    });

    it('serves public routes without a token and without identity headers', async () => {
      const before = stack.upstream.requests.length;
      const answer = await call(gw, 'GET', '/status', { headers: { 'x-patgate-user': 'mallory' } });
      expect(answer.status).toBe(200);
      const seen = stack.upstream.requests[before];
      if (seen === undefined) throw new Error('upstream saw nothing');
      expect(header(seen, 'x-patgate-user')).toEqual([]);
      expect(header(seen, 'x-patgate-token-id')).toEqual([]);
    });

    it('streams a 2 MiB upload and a 5 MB download intact', async () => {
      const upload = Buffer.alloc(2 * 1024 * 1024);
      for (let i = 0; i < upload.length; i++) upload[i] = (i * 7) % 256;
      const before = stack.upstream.requests.length;
      const echoed = await postBytes(`${gw}/echo`, writer.token, upload);
      expect(sha(echoed)).toBe(sha(upload));
      const seen = await stack.upstream.requests[before]?.settled;
      expect(seen?.bodyLength).toBe(upload.length);
      expect(seen?.bodySha256).toBe(sha(upload));
      const res = await fetchBytes(`${gw}/big/5000000`, writer.token);
      expect(res.length).toBe(5_000_000);
      const expected = Buffer.allocUnsafe(5_000_000);
      for (let i = 0; i < expected.length; i++) expected[i] = i % 251;
      expect(sha(res)).toBe(sha(expected));
    });
  });

  describe('401', () => {
    it('no token: 401 with a Bearer challenge', async () => {
      const answer = await call(gw, 'GET', '/repos/acme/api/issues');
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="patgate"');
      expect(expectProblem(answer, 401).type).toMatch(/token_missing$/);
    });

    it.each([
      ['not a patgate token', 'Bearer not-a-token'],
      ['altered checksum', null],
      ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ])('malformed (%s): 401 invalid_token, no lookup needed', async (_what, value) => {
      const altered = `${reader.token.slice(0, -1)}${reader.token.endsWith('A') ? 'B' : 'A'}`;
      const answer = await call(gw, 'GET', '/repos/acme/api/issues', {
        headers: { authorization: value ?? `Bearer ${altered}` },
      });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="patgate", error="invalid_token"');
      expect(expectProblem(answer, 401).type).toMatch(/token_(malformed|missing)$/);
      expect(answer.text).not.toContain(altered);
    });

    it('unknown (well-formed, never issued): 401 that says unknown', async () => {
      const answer = await call(gw, 'GET', '/repos/acme/api/issues', {
        token: generateToken('fine_grained'),
      });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="patgate", error="invalid_token"');
      expect(String(expectProblem(answer, 401).detail)).toMatch(/unknown/);
    });

    it('expired: 401 that says when', async () => {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const short = await createToken(adminUrl, {
        user: 'alice',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { issues: 'read' },
        expires_in_days: undefined,
        expires_at: expiresAt,
      });
      secrets.push(short.token);
      expect((await call(gw, 'GET', '/repos/acme/api/issues', { token: short.token })).status).toBe(200);
      await eventually(
        async () => (await call(gw, 'GET', '/repos/acme/api/issues', { token: short.token })).status === 401,
        5000,
        'the token to expire',
      );
      const answer = await call(gw, 'GET', '/repos/acme/api/issues', { token: short.token });
      expect(String(expectProblem(answer, 401).detail)).toContain(`expired at ${short.expires_at}`);
    });

    it('revoked: refused at once, even though it was cached', async () => {
      const doomed = await createToken(adminUrl, {
        user: 'carol',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      secrets.push(doomed.token);
      expect((await call(gw, 'GET', '/repos/acme/api/issues', { token: doomed.token })).status).toBe(200);
      expect((await admin(adminUrl, 'DELETE', `/v1/tokens/${doomed.id}`)).status).toBe(200);
      await eventually(
        async () => (await call(gw, 'GET', '/repos/acme/api/issues', { token: doomed.token })).status === 401,
        1000,
        'the revocation to reach the cache',
      );
      const answer = await call(gw, 'GET', '/repos/acme/api/issues', { token: doomed.token });
      expect(String(expectProblem(answer, 401).detail)).toMatch(/revoked/);
    });

    it('regenerate: the old secret stops working, the new one works with the same grants', async () => {
      const t = await createToken(adminUrl, {
        user: 'dave',
        resource_owner: 'acme',
        repositories: ['api'],
        permissions: { issues: 'read' },
      });
      expect((await call(gw, 'GET', '/repos/acme/api/issues', { token: t.token })).status).toBe(200);
      const regenerated = await admin(adminUrl, 'POST', `/v1/tokens/${t.id}/regenerate`, {
        expires_in_days: 10,
      });
      expect(regenerated.status).toBe(200);
      const fresh = String(regenerated.body.token);
      secrets.push(t.token, fresh);
      expect(fresh).not.toBe(t.token);
      expect(regenerated.body.id).toBe(t.id);
      await eventually(
        async () => (await call(gw, 'GET', '/repos/acme/api/issues', { token: t.token })).status === 401,
        1000,
        'the old secret to stop working',
      );
      expect((await call(gw, 'GET', '/repos/acme/api/issues', { token: fresh })).status).toBe(200);
      expect((await call(gw, 'GET', '/repos/acme/web/issues', { token: fresh })).status).toBe(404);
    });
  });

  describe('403 permission missing', () => {
    it('names the permission in X-Accepted-Permissions and the body', async () => {
      const answer = await call(gw, 'POST', '/repos/acme/api/issues', { token: reader.token, body: '{}' });
      expect(answer.status).toBe(403);
      expect(answer.headers['x-accepted-permissions']).toBe('issues=write');
      expect(expectProblem(answer, 403).required_permissions).toEqual([['issues:write']]);
    });

    it('lists AND sets with "," and alternatives with "; "', async () => {
      const issuesOnly = await createToken(adminUrl, {
        user: 'erin',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      secrets.push(issuesOnly.token);
      const timeline = await call(gw, 'GET', '/repos/acme/api/issues/1/timeline', {
        token: issuesOnly.token,
      });
      expect(timeline.status).toBe(403);
      expect(timeline.headers['x-accepted-permissions']).toBe(
        'pull_requests=read,contents=read; issues=read,contents=read',
      );
      const merge = await call(gw, 'POST', '/repos/acme/api/pulls/1/merge', { token: issuesOnly.token });
      expect(merge.headers['x-accepted-permissions']).toBe('pull_requests=write,contents=write');
    });
  });

  describe('404', () => {
    it('a repository outside the token set answers exactly like an unknown route', async () => {
      const hidden = await call(gw, 'GET', '/repos/acme/web/issues', { token: reader.token });
      const otherOwner = await call(gw, 'GET', '/repos/globex/api/issues', { token: reader.token });
      const unknown = await call(gw, 'GET', '/nothing/here', { token: reader.token });
      expect(hidden.status).toBe(404);
      expect(otherOwner.status).toBe(404);
      expect(hidden.text).toBe(unknown.text);
      expect(otherOwner.text).toBe(unknown.text);
      expectProblem(hidden, 404);
    });

    it('no route matches: 404 and the upstream is never called', async () => {
      const before = stack.upstream.requests.length;
      const answer = await call(gw, 'DELETE', '/repos/acme/api', { token: writer.token });
      expect(answer.status).toBe(404);
      expectProblem(answer, 404);
      expect(stack.upstream.requests.length).toBe(before);
    });
  });

  describe('400 ambiguous targets', () => {
    it.each([
      '/repos/acme/api%2Fissues',
      '/repos/acme/api/../web/issues',
      '/repos//acme/api/issues',
      '/repos/acme/api;x=1/issues',
      '/repos/acme/api/contents/%252e%252e/secret',
    ])('%s: 400 and nothing forwarded', async (target) => {
      const before = stack.upstream.requests.length;
      const answer = await call(gw, 'GET', target, { token: writer.token });
      expect(answer.status).toBe(400);
      expectProblem(answer, 400);
      expect(stack.upstream.requests.length).toBe(before);
    });
  });

  describe('403 organization rules', () => {
    it('pending approval, approved, denied', async () => {
      expect(
        (await admin(adminUrl, 'PUT', '/v1/orgs/initech/members/alice', { role: 'member' })).status,
      ).toBe(200);
      expect(
        (await admin(adminUrl, 'PUT', '/v1/orgs/initech/policy', { require_approval: true })).status,
      ).toBe(200);
      const pending = await createToken(adminUrl, {
        user: 'alice',
        resource_owner: 'initech',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      const denied = await createToken(adminUrl, {
        user: 'alice',
        resource_owner: 'initech',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      secrets.push(pending.token, denied.token);
      expect(pending.status).toBe('pending');
      const waiting = await call(gw, 'GET', '/repos/initech/api/issues', { token: pending.token });
      expect(waiting.status).toBe(403);
      expect(String(expectProblem(waiting, 403).detail)).toMatch(/approval/);

      const approved = await admin(
        adminUrl,
        'POST',
        `/v1/orgs/initech/token-requests/${pending.id}/approve`,
        {},
      );
      expect(approved.status).toBe(200);
      await eventually(
        async () =>
          (await call(gw, 'GET', '/repos/initech/api/issues', { token: pending.token })).status === 200,
        1000,
        'the approval to take effect',
      );

      const deny = await admin(adminUrl, 'POST', `/v1/orgs/initech/token-requests/${denied.id}/deny`, {
        reason: 'too broad',
      });
      expect(deny.status).toBe(200);
      const refused = await call(gw, 'GET', '/repos/initech/api/issues', { token: denied.token });
      expect(refused.status).toBe(403);
      expect(String(expectProblem(refused, 403).detail)).toMatch(/denied/);
    });

    it('a classic token refused by org policy', async () => {
      expect(
        (await admin(adminUrl, 'PUT', '/v1/orgs/umbrella/members/frank', { role: 'member' })).status,
      ).toBe(200);
      const classic = await createToken(adminUrl, { kind: 'classic', user: 'frank', scopes: ['read'] });
      secrets.push(classic.token);
      expect((await call(gw, 'GET', '/repos/umbrella/api/issues', { token: classic.token })).status).toBe(
        200,
      );
      expect(
        (await admin(adminUrl, 'PUT', '/v1/orgs/umbrella/policy', { classic_tokens: 'blocked' })).status,
      ).toBe(200);
      await eventually(
        async () =>
          (await call(gw, 'GET', '/repos/umbrella/api/issues', { token: classic.token })).status === 403,
        1000,
        'the policy to take effect',
      );
      const answer = await call(gw, 'GET', '/repos/umbrella/api/issues', { token: classic.token });
      expect(String(expectProblem(answer, 403).detail)).toMatch(/classic/);
    });

    it('a user no longer a member is cut off', async () => {
      expect((await admin(adminUrl, 'PUT', '/v1/orgs/hooli/members/gina', { role: 'member' })).status).toBe(
        200,
      );
      const t = await createToken(adminUrl, {
        user: 'gina',
        resource_owner: 'hooli',
        repositories: 'all',
        permissions: { issues: 'read' },
      });
      secrets.push(t.token);
      expect((await call(gw, 'GET', '/repos/hooli/api/issues', { token: t.token })).status).toBe(200);
      expect((await admin(adminUrl, 'DELETE', '/v1/orgs/hooli/members/gina')).status).toBe(204);
      await eventually(
        async () => (await call(gw, 'GET', '/repos/hooli/api/issues', { token: t.token })).status === 403,
        1000,
        'the removal to take effect',
      );
      const answer = await call(gw, 'GET', '/repos/hooli/api/issues', { token: t.token });
      expect(String(expectProblem(answer, 403).detail)).toMatch(/member/);
    });
  });

  describe('upstream faults', () => {
    it('504 past upstream.timeout_ms', async () => {
      const answer = await call(gw, 'GET', '/slow/3000', { token: reader.token });
      expect(answer.status).toBe(504);
      expectProblem(answer, 504);
    });

    it('502 when the upstream refuses connections', async () => {
      const closedPort = await freePort();
      const gateway = await startGateway(
        stackConfig({ store: 'memory' }, `http://127.0.0.1:${closedPort}`, undefined),
      );
      try {
        const t = await createToken(gateway.adminUrl, {
          user: 'alice',
          resource_owner: 'acme',
          repositories: 'all',
          permissions: { issues: 'read' },
        });
        const answer = await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: t.token });
        expect(answer.status).toBe(502);
        expectProblem(answer, 502);
      } finally {
        await gateway.stop();
      }
    });
  });
});

async function fetchBytes(url: string, token: string): Promise<Buffer> {
  const { request } = await import('undici');
  const res = await request(url, { headers: { authorization: `Bearer ${token}` } });
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function postBytes(url: string, token: string, body: Buffer): Promise<Buffer> {
  const { request } = await import('undici');
  const res = await request(url, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
