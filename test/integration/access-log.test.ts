import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { type CreatedToken, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// One JSON line per request, and one request id from the client (when a trusted proxy sent
// it) through the upstream to the answer.

let upstream: TestUpstream;
let gateway: GatewayProcess;
let sampled: GatewayProcess;
let token: CreatedToken;
let sampledToken: CreatedToken;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function tokenBody() {
  return { user: 'alice', resource_owner: 'acme', repositories: 'all', permissions: { issues: 'read' } };
}

beforeAll(async () => {
  upstream = await startTestUpstream();
  const base = stackConfig({ store: 'memory' }, upstream.url, undefined);
  [gateway, sampled] = await Promise.all([
    startGateway(`${base}trusted_proxies: ["127.0.0.1"]\n`),
    startGateway(`${base}log:\n  allowed_sample_rate: 0\n`),
  ]);
  [token, sampledToken] = await Promise.all([
    createToken(gateway.adminUrl, tokenBody()),
    createToken(sampled.adminUrl, tokenBody()),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), sampled?.stop()]);
  await upstream?.close();
});

async function accessLine(target: GatewayProcess, requestId: string): Promise<Record<string, unknown>> {
  const line = await target.waitForLine((l) => l.includes('"msg":"request"') && l.includes(requestId));
  return JSON.parse(line) as Record<string, unknown>;
}

function header(raw: readonly string[], name: string): string | undefined {
  const i = raw.findIndex((v, k) => k % 2 === 0 && v.toLowerCase() === name);
  return i < 0 ? undefined : raw[i + 1];
}

describe('access log', () => {
  it('an allowed request: one line with the route pattern, status, bytes, token and user; never the path', async () => {
    const seen = upstream.requests.length;
    const answer = await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: token.token });
    expect(answer.status).toBe(200);
    const id = String(answer.headers['x-request-id']);
    expect(id).toMatch(UUID);
    expect(header(upstream.requests[seen]?.rawHeaders ?? [], 'x-request-id')).toBe(id);
    const line = await accessLine(gateway, id);
    expect(line).toMatchObject({
      level: 30,
      method: 'GET',
      route: 'GET /repos/{owner}/{repo}/issues',
      status: 200,
      bytes: answer.text.length,
      token_id: token.id,
      user: 'alice',
      granted: true,
    });
    expect(typeof line.duration_ms).toBe('number');
    expect(JSON.stringify(line)).not.toContain('/repos/acme/api');
  });

  it('a refusal: the same fields, granted false and its reason', async () => {
    const answer = await call(gateway.url, 'GET', '/repos/acme/api/contents/a.md', { token: token.token });
    expect(answer.status).toBe(403);
    const line = await accessLine(gateway, String(answer.headers['x-request-id']));
    expect(line).toMatchObject({
      route: 'GET /repos/{owner}/{repo}/contents/{path+}',
      status: 403,
      granted: false,
      reason_id: 'permission_missing',
      token_id: token.id,
      bytes: answer.text.length,
    });
  });

  it('a request refused for its shape is logged too, under no route', async () => {
    const answer = await call(gateway.url, 'GET', '/a%3Bb', {});
    expect(answer.status).toBe(400);
    const line = await accessLine(gateway, String(answer.headers['x-request-id']));
    expect(line).toMatchObject({ route: '(unmatched)', status: 400, reason_id: 'bad_request_target' });
  });

  it("a trusted proxy's X-Request-Id is kept end to end", async () => {
    const seen = upstream.requests.length;
    const answer = await call(gateway.url, 'GET', '/repos/acme/api/issues', {
      token: token.token,
      headers: { 'x-request-id': 'edge-7f3a.1' },
    });
    expect(answer.headers['x-request-id']).toBe('edge-7f3a.1');
    expect(header(upstream.requests[seen]?.rawHeaders ?? [], 'x-request-id')).toBe('edge-7f3a.1');
  });

  it("anyone else's X-Request-Id is replaced", async () => {
    const { port } = new URL(gateway.url);
    const text = await new Promise<string>((done, fail) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.2' }, () => {
        socket.write(`GET /status HTTP/1.1\r\nHost: x\r\nX-Request-Id: spoofed\r\nConnection: close\r\n\r\n`);
      });
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      socket.on('end', () => done(received));
      socket.on('error', fail);
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text.toLowerCase()).not.toContain('x-request-id: spoofed');
    expect(text.toLowerCase()).toMatch(/x-request-id: [0-9a-f-]{36}/);
  });

  it('with allowed_sample_rate 0, allowed requests are not logged; refusals still are', async () => {
    const allowed = await call(sampled.url, 'GET', '/repos/acme/api/issues', { token: sampledToken.token });
    expect(allowed.status).toBe(200);
    const refused = await call(sampled.url, 'GET', '/repos/acme/api/contents/a.md', {
      token: sampledToken.token,
    });
    // Lines are written in order: once the refusal's is out, the allowed one would be too.
    await accessLine(sampled, String(refused.headers['x-request-id']));
    expect(sampled.output.some((l) => l.includes(String(allowed.headers['x-request-id'])))).toBe(false);
  });
});
