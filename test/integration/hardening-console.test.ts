import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { FEATURES, ROUTES } from '../helpers/stack.js';

// The console's answers to hostile or oversized requests, behind a trusted SSO proxy
// (the tests connect from 127.0.0.1, which is trusted): every answer carries the CSP.

const HEADER = 'X-Forwarded-User';

let gateway: GatewayProcess;
let consoleUrl: string;

beforeAll(async () => {
  const port = await freePort();
  consoleUrl = `http://127.0.0.1:${port}`;
  gateway = await startGateway(`
listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
upstream: { url: "http://127.0.0.1:9" }
trusted_proxies: ["127.0.0.1/32"]
console:
  listen: "127.0.0.1:${port}"
  public_url: "${consoleUrl}"
  trusted_identity_header: "${HEADER}"
${FEATURES}
${ROUTES}
`);
  await gateway.waitForLine((l) => l.includes('"console listening"'));
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

describe('console security headers', () => {
  it('csp: a body refused for its declared size (413) still carries the CSP and the frame ban', async () => {
    const res = await request(`${consoleUrl}/console/tokens`, {
      method: 'POST',
      headers: {
        [HEADER]: 'alice',
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(70_000),
      },
      body: 'x'.repeat(70_000),
    });
    await res.body.dump();
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});
