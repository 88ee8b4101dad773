import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { type CreatedToken, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// The signed identity an upstream can verify: a short-lived JWT with the token's scope, in a
// header no client can set, checked here against the JWKS the admin listener publishes.

let upstream: TestUpstream;
let gateway: GatewayProcess;
let token: CreatedToken;

function pemFiles(): { signing: string; previous: string } {
  const dir = mkdtempSync(join(tmpdir(), 'patgate-assertion-'));
  const ed = generateKeyPairSync('ed25519');
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signing = join(dir, 'signing.pem');
  const previous = join(dir, 'previous.pem');
  writeFileSync(signing, ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(previous, p256.publicKey.export({ type: 'spki', format: 'pem' }));
  return { signing, previous };
}

function headerOf(raw: readonly string[], name: string): string[] {
  return raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [raw[i + 1] as string] : []));
}

async function jwks() {
  const res = await request(`${gateway.adminUrl}/.well-known/jwks.json`);
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as { keys: { kid: string; alg: string; kty: string }[] };
}

beforeAll(async () => {
  upstream = await startTestUpstream();
  const keys = pemFiles();
  gateway = await startGateway(
    `${stackConfig({ store: 'memory' }, upstream.url, undefined)}identity_assertion:
  key_file: "${keys.signing}"
  previous_key_files: ["${keys.previous}"]
  ttl_seconds: 60
decision:
  listen: "127.0.0.1:0"
trusted_proxies: ["127.0.0.1"]
`,
  );
  token = await createToken(gateway.adminUrl, {
    user: 'alice',
    resource_owner: 'acme',
    repositories: ['api', 'web'],
    permissions: { issues: 'read', contents: 'write' },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

describe('identity assertion', () => {
  it('the JWKS lists the signing key first, then the previous one, with thumbprint kids', async () => {
    const { keys } = await jwks();
    expect(keys.map((k) => [k.kty, k.alg])).toEqual([
      ['OKP', 'EdDSA'],
      ['EC', 'ES256'],
    ]);
    expect(keys.every((k) => /^[A-Za-z0-9_-]{43}$/.test(k.kid))).toBe(true);
  });

  it('an allowed request reaches the upstream with an assertion that verifies against the JWKS', async () => {
    const seen = upstream.requests.length;
    const answer = await call(gateway.url, 'GET', '/repos/acme/api/issues', {
      token: token.token,
      // A client copy is never forwarded, whatever it claims.
      headers: { 'x-patgate-assertion': 'forged.jwt.value' },
    });
    expect(answer.status).toBe(200);
    const values = headerOf(upstream.requests[seen]?.rawHeaders ?? [], 'x-patgate-assertion');
    expect(values).toHaveLength(1);
    const { payload, protectedHeader } = await jwtVerify(
      values[0] as string,
      createLocalJWKSet(await jwks()),
      {
        issuer: 'patgate',
        audience: new URL(upstream.url).origin,
      },
    );
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({
      sub: 'alice',
      token_id: token.id,
      token_kind: 'fine_grained',
      owner: 'acme',
      repositories: ['api', 'web'],
      permissions: { issues: 'read', contents: 'write' },
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);
  });

  it('is signed once and reused while fresh', async () => {
    const seen = upstream.requests.length;
    await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: token.token });
    await call(gateway.url, 'GET', '/repos/acme/web/issues', { token: token.token });
    const [first, second] = upstream.requests
      .slice(seen)
      .map((r) => headerOf(r.rawHeaders, 'x-patgate-assertion')[0]);
    expect(first).toBeDefined();
    expect(second).toBe(first);
  });

  it('a forged or tampered assertion does not verify', async () => {
    const seen = upstream.requests.length;
    await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: token.token });
    const value = headerOf(upstream.requests[seen]?.rawHeaders ?? [], 'x-patgate-assertion')[0] as string;
    const [h, p, s] = value.split('.');
    const claims = JSON.parse(Buffer.from(p as string, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, owner: 'other' })).toString('base64url')}.${s}`;
    await expect(jwtVerify(tampered, createLocalJWKSet(await jwks()))).rejects.toThrow();
  });

  it('the decision listener answers it too, for the proxy to copy upstream', async () => {
    const res = await request(`${gateway.decisionUrl ?? ''}/nginx`, {
      headers: {
        'x-original-method': 'GET',
        'x-original-uri': '/repos/acme/api/issues',
        host: 'api.example.com',
        authorization: `Bearer ${token.token}`,
      },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    const value = res.headers['x-patgate-assertion'];
    expect(typeof value).toBe('string');
    const { payload } = await jwtVerify(value as string, createLocalJWKSet(await jwks()));
    expect(payload.sub).toBe('alice');
  });

  it('a public route carries no assertion', async () => {
    const seen = upstream.requests.length;
    expect((await call(gateway.url, 'GET', '/status')).status).toBe(200);
    expect(headerOf(upstream.requests[seen]?.rawHeaders ?? [], 'x-patgate-assertion')).toEqual([]);
  });
});
