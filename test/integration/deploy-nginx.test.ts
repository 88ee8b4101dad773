import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { type CreatedToken, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// The shipped nginx example (deploy/nginx/nginx.conf), run by real nginx in front of a real
// upstream, asking the real gateway's decision listener: allowed requests carry the identity,
// refused ones get patgate's own status and problem body.

const NGINX = process.env.PATGATE_TEST_NGINX ?? '/usr/sbin/nginx';
const EXAMPLE = resolve(import.meta.dirname, '../../deploy/nginx/nginx.conf');

let upstream: TestUpstream;
let gateway: GatewayProcess;
let nginx: ChildProcess;
let nginxUrl: string;
let token: CreatedToken;
let reader: CreatedToken;
const nginxLog: string[] = [];

/** Resolves once something accepts connections on the port (nginx binds before it serves). */
async function accepting(port: number): Promise<void> {
  for (;;) {
    const open = await new Promise<boolean>((done) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}: ${nginxLog.join('')}`);
  }
}

beforeAll(async () => {
  upstream = await startTestUpstream();
  gateway = await startGateway(
    `${stackConfig({ store: 'memory' }, upstream.url, undefined)}decision:\n  listen: "127.0.0.1:0"\ntrusted_proxies: ["127.0.0.1"]\n`,
  );
  [token, reader] = await Promise.all([
    createToken(gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { issues: 'read', contents: 'read' },
    }),
    createToken(gateway.adminUrl, {
      user: 'bob',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read' },
    }),
  ]);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'patgate-nginx-'));
  const decision = new URL(gateway.decisionUrl ?? '').host;
  const config = readFileSync(EXAMPLE, 'utf8')
    .replace('server 127.0.0.1:9000;', `server ${new URL(upstream.url).host};`)
    .replace('server 127.0.0.1:8082;', `server ${decision};`)
    .replace('listen 127.0.0.1:8000;', `listen 127.0.0.1:${port};`);
  writeFileSync(join(dir, 'nginx.conf'), config);
  nginx = spawn(
    NGINX,
    [
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      `daemon off; pid ${dir}/nginx.pid; error_log stderr notice;`,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  // Read, so that a full pipe never blocks nginx; shown if it exits early.
  nginx.stderr?.on('data', (chunk: Buffer) => nginxLog.push(chunk.toString()));
  nginxUrl = `http://127.0.0.1:${port}`;
  await accepting(port);
});

afterAll(async () => {
  if (nginx !== undefined && nginx.exitCode === null) {
    const exited = new Promise((done) => nginx.once('exit', done));
    nginx.kill('SIGQUIT');
    await exited;
  }
  await gateway?.stop();
  await upstream?.close();
});

async function get(path: string, credential?: string) {
  const res = await request(`${nginxUrl}${path}`, {
    headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` },
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('nginx auth_request in front, the decision listener behind', () => {
  it('an allowed request reaches the upstream with the identity and without the token', async () => {
    const seen = upstream.requests.length;
    const answer = await get('/repos/acme/api/issues', token.token);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers['x-patgate-token-expiration']).toBe(token.expires_at);
    const recorded = upstream.requests[seen];
    const headers = Object.fromEntries(
      (recorded?.rawHeaders ?? []).flatMap((v, i, all) =>
        i % 2 === 0 ? [[v.toLowerCase(), all[i + 1]]] : [],
      ),
    );
    expect(headers['x-patgate-user']).toBe('alice');
    expect(headers['x-patgate-token-id']).toBe(token.id);
    expect(headers.authorization).toBeUndefined();
  });

  it.each([
    ['no token', '/repos/acme/api/issues', undefined, 401, 'token_missing'],
    ['a missing permission', '/repos/acme/api/contents/a.md', 'reader', 403, 'permission_missing'],
    ['a repository outside the token', '/repos/acme/web/issues', 'reader', 404, 'not_found'],
    ['no route', '/nowhere', 'token', 404, 'not_found'],
    ['an encoded delimiter', '/repos/acme/api/issues%3B', 'token', 400, 'bad_request_target'],
  ])("%s: patgate's status and body, nothing forwarded", async (_label, path, who, status, type) => {
    const seen = upstream.requests.length;
    const credential = who === undefined ? undefined : who === 'reader' ? reader.token : token.token;
    const answer = await get(path, credential);
    expect(answer.status, answer.text).toBe(status);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect((JSON.parse(answer.text) as { type: string }).type).toBe(`https://patgate.dev/problems/${type}`);
    expect(upstream.requests.length).toBe(seen);
  });

  it('a missing permission is named in X-Accepted-Permissions', async () => {
    const answer = await get('/repos/acme/api/contents/a.md', reader.token);
    expect(answer.headers['x-accepted-permissions']).toBe('contents=read');
  });
});

describe('the decision listener alone', () => {
  it('answers 200 with the identity, and repeats a refusal status in X-Patgate-Status', async () => {
    const base = gateway.decisionUrl ?? '';
    const allowed = await request(`${base}/nginx`, {
      headers: {
        'x-original-method': 'GET',
        'x-original-uri': '/repos/acme/api/issues',
        host: 'api.example.com',
        authorization: `Bearer ${token.token}`,
      },
    });
    await allowed.body.dump();
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers['x-patgate-user']).toBe('alice');
    const refused = await request(`${base}/forward`, {
      headers: {
        'x-forwarded-method': 'GET',
        'x-forwarded-uri': '/repos/acme/api/contents/a.md',
        'x-forwarded-host': 'api.example.com',
        authorization: `Bearer ${reader.token}`,
      },
    });
    await refused.body.dump();
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['x-patgate-status']).toBe('403');
    const envoy = await request(`${base}/envoy/repos/acme/api/issues`, {
      headers: { host: 'api.example.com', authorization: `Bearer ${token.token}` },
    });
    await envoy.body.dump();
    expect(envoy.statusCode).toBe(200);
  });

  it.each([
    [
      'forward auth (Traefik, Caddy)',
      (path: string) => ({
        url: '/forward',
        headers: {
          'x-forwarded-method': 'GET',
          'x-forwarded-uri': path,
          'x-forwarded-host': 'api.example.com',
        },
      }),
    ],
    [
      'Envoy ext_authz',
      (path: string) => ({
        url: `/envoy${path}`,
        headers: { host: 'api.example.com' } as Record<string, string>,
      }),
    ],
  ])('%s: the identity on an allow, the gateway answer on every refusal', async (_label, ask) => {
    // The dispatcher API sends the path as written: a URL string would have its %2e%2e resolved
    // by the client (WHATWG URL parsing) before Envoy's path ever reached patgate.
    const client = new Client(gateway.decisionUrl ?? '');
    const call = async (path: string, credential: string | undefined) => {
      const { url, headers } = ask(path);
      const res = await client.request({
        method: 'GET',
        path: url,
        headers: credential === undefined ? headers : { ...headers, authorization: `Bearer ${credential}` },
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        body: text === '' ? null : (JSON.parse(text) as { type: string }),
      };
    };
    onTestFinished(() => client.close());
    const allowed = await call('/repos/acme/api/issues', token.token);
    expect(allowed.status).toBe(200);
    expect(allowed.headers['x-patgate-user']).toBe('alice');
    expect(allowed.headers['x-patgate-token-id']).toBe(token.id);
    expect(allowed.body).toBeNull();
    for (const [path, credential, status, type] of [
      ['/repos/acme/api/issues', undefined, 401, 'token_missing'],
      ['/repos/acme/api/contents/a.md', reader.token, 403, 'permission_missing'],
      ['/repos/acme/web/issues', reader.token, 404, 'not_found'],
      // A path trick: an encoded ".." would let a decoding upstream climb out of the repository.
      ['/repos/acme/api/contents/%2e%2e/%2e%2e/web/issues', token.token, 400, 'bad_request_target'],
    ] as const) {
      const refused = await call(path, credential);
      expect(refused.status, path).toBe(status);
      expect(refused.headers['x-patgate-status']).toBe(String(status));
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(refused.body?.type).toBe(`https://patgate.dev/problems/${type}`);
      expect(refused.headers['x-patgate-user']).toBeUndefined();
    }
  });

  it('does not believe a peer outside trusted_proxies', async () => {
    const base = new URL(gateway.decisionUrl ?? '');
    const answer = await new Promise<string>((done, fail) => {
      const socket = connect(
        { host: base.hostname, port: Number(base.port), localAddress: '127.0.0.2' },
        () => {
          socket.end(
            `GET /nginx HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URI: /repos/acme/api/issues\r\nAuthorization: Bearer ${token.token}\r\n\r\n`,
          );
        },
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      socket.on('end', () => done(text));
      socket.on('error', fail);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    expect(answer).toContain('untrusted_decision_peer');
  });

  // Regression: a proxy that forwards bodies to forward auth (Traefik forwardBody, Caddy) took
  // the leak report's 202 for an allow and would have sent the tokens upstream.
  it('never runs the leak report for a proxy: the reserved path is no route there', async () => {
    const res = await request(`${gateway.decisionUrl ?? ''}/forward`, {
      method: 'POST',
      headers: {
        'x-forwarded-method': 'POST',
        'x-forwarded-uri': '/_patgate/credentials/revoke',
        'x-forwarded-host': 'api.example.com',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ credentials: [token.token] }),
    });
    await res.body.dump();
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-patgate-status']).toBe('404');
  });

  it('refuses a request that does not say which request it is about', async () => {
    const res = await request(`${gateway.decisionUrl ?? ''}/nginx`, { headers: { host: 'x' } });
    await res.body.dump();
    expect(res.statusCode).toBe(400);
  });
});
