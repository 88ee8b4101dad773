import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { type CreatedToken, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// The edge GitHub clients speak: the `token` and `Basic` schemes, `%2F` inside a `{path+}`,
// JSON errors with `message`, GitHub's header names, a base path, an upstream prefix and TLS.

let upstream: TestUpstream;
let gateway: GatewayProcess;
let token: CreatedToken;
let reader: CreatedToken;

function configFor(upstreamUrl: string, extra: string): string {
  return `${stackConfig({ store: 'memory' }, upstreamUrl, undefined)}${extra}`;
}

async function tokensFor(adminUrl: string): Promise<[CreatedToken, CreatedToken]> {
  return Promise.all([
    createToken(adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read', issues: 'read' },
    }),
    createToken(adminUrl, {
      user: 'bob',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read' },
    }),
  ]);
}

beforeAll(async () => {
  upstream = await startTestUpstream();
  // The upstream serves under its own prefix; clients call under GitHub Enterprise's.
  gateway = await startGateway(configFor(`${upstream.url}/v3`, 'compat: github\nbase_path: "/api/v3"\n'));
  [token, reader] = await tokensFor(gateway.adminUrl);
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

async function get(path: string, headers: Record<string, string>) {
  return call(gateway.url, 'GET', path, { headers });
}

describe('credential schemes', () => {
  it.each([
    ['token (what Octokit sends)', (t: string) => `token ${t}`],
    ['TOKEN, any case', (t: string) => `TOKEN ${t}`],
    ['Bearer', (t: string) => `Bearer ${t}`],
    [
      'Basic, the token as password (git)',
      (t: string) => `Basic ${Buffer.from(`x-access-token:${t}`).toString('base64')}`,
    ],
  ])('%s: allowed, and the credential never reaches the upstream', async (_label, header) => {
    const seen = upstream.requests.length;
    const answer = await get('/api/v3/repos/acme/api/issues', { authorization: header(token.token) });
    expect(answer.status, answer.text).toBe(200);
    const recorded = upstream.requests[seen];
    expect(recorded?.url).toBe('/v3/repos/acme/api/issues');
    expect(recorded?.rawHeaders.join('\n')).not.toContain(token.token.slice(4, 20));
  });

  it('Basic with a password that is no token: 401', async () => {
    const answer = await get('/api/v3/repos/acme/api/issues', {
      authorization: `Basic ${Buffer.from('alice:hunter2').toString('base64')}`,
    });
    expect(answer.status).toBe(401);
  });
});

describe('base path and upstream prefix', () => {
  it('a path outside base_path is no route', async () => {
    const answer = await get('/repos/acme/api/issues', { authorization: `token ${token.token}` });
    expect(answer.status).toBe(404);
  });

  it('the base path alone, or a lookalike prefix, is no route', async () => {
    for (const path of ['/api/v3', '/api/v3x/repos/acme/api/issues']) {
      expect((await get(path, { authorization: `token ${token.token}` })).status).toBe(404);
    }
  });
});

describe('nested paths: %2F inside a {name+} tail', () => {
  it('is allowed, and forwarded byte for byte', async () => {
    const seen = upstream.requests.length;
    const answer = await get('/api/v3/repos/acme/api/contents/docs%2Fguide%2FREADME.md', {
      authorization: `token ${token.token}`,
    });
    expect(answer.status, answer.text).toBe(200);
    expect(upstream.requests[seen]?.url).toBe('/v3/repos/acme/api/contents/docs%2Fguide%2FREADME.md');
  });

  it.each([
    ['in {repo}', '/api/v3/repos/acme/api%2Fother/contents/a.md'],
    ['in {owner}', '/api/v3/repos/acme%2Fx/api/contents/a.md'],
    ['decoding to ..', '/api/v3/repos/acme/api/contents/docs%2F..%2Fsecret'],
    ['decoding to an empty segment', '/api/v3/repos/acme/api/contents/docs%2F%2Fa'],
    ['leading', '/api/v3/repos/acme/api/contents/%2Fetc'],
    ['trailing', '/api/v3/repos/acme/api/contents/docs%2F'],
    ['with an encoded backslash', '/api/v3/repos/acme/api/contents/docs%2Fa%5Cb'],
  ])('%s: 400, nothing forwarded', async (_label, path) => {
    const seen = upstream.requests.length;
    const answer = await get(path, { authorization: `token ${token.token}` });
    expect(answer.status, answer.text).toBe(400);
    expect(upstream.requests.length).toBe(seen);
  });
});

describe('errors a GitHub client can read', () => {
  it('a refusal carries message and documentation_url, as problem+json by default', async () => {
    const answer = await get('/api/v3/repos/acme/api/contents/a.md', {
      authorization: `token ${reader.token}`,
    });
    expect(answer.status).toBe(403);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    expect(body.message).toBe(body.detail);
    expect(body.documentation_url).toBe('https://patgate.dev/problems/permission_missing');
  });

  it.each(['application/vnd.github+json', 'application/vnd.github.v3+json', 'application/json'])(
    'Accept: %s gets application/json with the same members',
    async (accept) => {
      const answer = await get('/api/v3/repos/acme/api/contents/a.md', {
        authorization: `token ${reader.token}`,
        accept,
      });
      expect(answer.status).toBe(403);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect((JSON.parse(answer.text) as { message: string }).message).toContain('contents');
    },
  );

  it('Accept preferring problem+json keeps it', async () => {
    const answer = await get('/api/v3/nowhere', {
      accept: 'application/json;q=0.5, application/problem+json',
    });
    expect(answer.headers['content-type']).toBe('application/problem+json');
  });
});

describe('compat: github header names', () => {
  it('a missing permission names it in X-Accepted-GitHub-Permissions', async () => {
    const answer = await get('/api/v3/repos/acme/api/contents/a.md', {
      authorization: `token ${reader.token}`,
    });
    expect(answer.headers['x-accepted-github-permissions']).toBe('contents=read');
    expect(answer.headers['x-accepted-permissions']).toBeUndefined();
  });

  it("an allowed answer carries the token's expiry as GitHub-Authentication-Token-Expiration", async () => {
    const answer = await get('/api/v3/repos/acme/api/issues', { authorization: `token ${token.token}` });
    expect(answer.status).toBe(200);
    expect(answer.headers['github-authentication-token-expiration']).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    );
    expect(answer.headers['x-patgate-token-expiration']).toBeUndefined();
  });
});

describe('TLS on the gateway listener', () => {
  let tlsGateway: GatewayProcess;
  let tlsToken: CreatedToken;
  let cert: Buffer;
  let tlsUrl: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patgate-tls-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(certFile);
    tlsGateway = await startGateway(
      configFor(upstream.url, `tls:\n  cert_file: "${certFile}"\n  key_file: "${keyFile}"\n`),
    );
    tlsUrl = tlsGateway.url.replace(/^http:/, 'https:');
    [tlsToken] = await tokensFor(tlsGateway.adminUrl);
  });

  afterAll(async () => {
    await tlsGateway?.stop();
  });

  it('serves HTTPS, TLS 1.2 at least, and tells the upstream the scheme', async () => {
    const dispatcher = new Agent({ connect: { ca: cert, minVersion: 'TLSv1.2' } });
    try {
      const seen = upstream.requests.length;
      const res = await request(`${tlsUrl}/repos/acme/api/issues`, {
        dispatcher,
        headers: { authorization: `Bearer ${tlsToken.token}` },
      });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      const raw = upstream.requests[seen]?.rawHeaders ?? [];
      expect(raw[raw.findIndex((h) => h.toLowerCase() === 'x-forwarded-proto') + 1]).toBe('https');
    } finally {
      await dispatcher.close();
    }
  });

  it('refuses TLS 1.1', async () => {
    const dispatcher = new Agent({ connect: { ca: cert, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' } });
    try {
      await expect(request(`${tlsUrl}/repos/acme/api/issues`, { dispatcher })).rejects.toThrow();
    } finally {
      await dispatcher.close();
    }
  });
});
