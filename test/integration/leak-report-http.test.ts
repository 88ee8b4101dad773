import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { admin, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// The public leak report as a client reaches it: a reserved path on the gateway listener,
// never routed, never forwarded, answering the same whether or not a credential existed.

let upstream: TestUpstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startTestUpstream();
  gateway = await startGateway(
    `${stackConfig({ store: 'memory' }, upstream.url, undefined)}compat: github\nleak_reports:\n  per_address_per_hour: 100\n`,
  );
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

function report(path: string, credentials: string[]) {
  return call(gateway.url, 'POST', path, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ credentials }),
  });
}

describe('POST /_patgate/credentials/revoke on the gateway listener', () => {
  it('revokes a live token, answers as for an unknown one, and forwards nothing', async () => {
    const leaked = await createToken(gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { issues: 'read' },
    });
    const seen = upstream.requests.length;
    const known = await report('/_patgate/credentials/revoke', [leaked.token]);
    const unknown = await report('/_patgate/credentials/revoke', [
      'pgt_000000000000000000000000000000000000',
    ]);
    expect(known.status).toBe(202);
    expect([unknown.status, unknown.text]).toEqual([known.status, known.text]);
    expect(upstream.requests.length).toBe(seen);
    // Revocation runs after the answer: wait for it through the admin API, not a timer.
    for (;;) {
      const record = await admin(gateway.adminUrl, 'GET', `/v1/tokens/${leaked.id}`);
      if (record.body.status === 'revoked') break;
    }
    expect((await call(gateway.url, 'GET', '/repos/acme/api/issues', { token: leaked.token })).status).toBe(
      401,
    );
  });

  it("is also GitHub's /credentials/revoke with compat: github", async () => {
    const seen = upstream.requests.length;
    const answer = await report('/credentials/revoke', ['pgt_000000000000000000000000000000000000']);
    expect(answer.status).toBe(202);
    expect(upstream.requests.length).toBe(seen);
  });

  it('takes POST only', async () => {
    const answer = await call(gateway.url, 'GET', '/_patgate/credentials/revoke');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
  });
});
