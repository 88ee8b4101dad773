import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { TestBrowser } from '../helpers/oidc-browser.js';
import { FEATURES, ROUTES } from '../helpers/stack.js';

const HEADER = 'X-Forwarded-User';
const SESSION_COOKIE = '__Host-patgate_session';

/** A gateway whose console believes `HEADER` from `trusted` peers only (the tests connect from 127.0.0.1). */
async function start(trusted: string): Promise<{ gateway: GatewayProcess; consoleUrl: string }> {
  const port = await freePort();
  const consoleUrl = `http://127.0.0.1:${port}`;
  const gateway = await startGateway(`
listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
upstream: { url: "http://127.0.0.1:9" }
trusted_proxies: ["${trusted}"]
console:
  listen: "127.0.0.1:${port}"
  public_url: "${consoleUrl}"
  trusted_identity_header: "${HEADER}"
${FEATURES}
${ROUTES}
`);
  await gateway.waitForLine((l) => l.includes('"console listening"'));
  return { gateway, consoleUrl };
}

const token = {
  kind: 'fine_grained',
  name: 'from the proxy',
  resource_owner: 'alice',
  repositories: 'all',
  permissions: { issues: 'read' },
  expires_in_days: 7,
};

let behindProxy: { gateway: GatewayProcess; consoleUrl: string };
let elsewhere: { gateway: GatewayProcess; consoleUrl: string };

beforeAll(async () => {
  [behindProxy, elsewhere] = await Promise.all([start('127.0.0.1/32'), start('10.0.0.0/8')]);
});

afterAll(async () => {
  await Promise.allSettled([behindProxy?.gateway.stop(), elsewhere?.gateway.stop()]);
});

describe('console behind an SSO proxy (trusted identity header)', () => {
  it('from a trusted peer, the header names the user', async () => {
    const res = await new TestBrowser().fetch(`${behindProxy.consoleUrl}/v1/user/tokens`, {
      headers: { [HEADER]: 'Alice' },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ user: 'alice', tokens: [] });
  });

  it('without the header, or with one that is no login, nobody is signed in (401)', async () => {
    const browser = new TestBrowser();
    expect((await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`)).status).toBe(401);
    const bad = await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`, {
      headers: { [HEADER]: 'alice@example.com' },
    });
    expect(bad.status).toBe(401);
  });

  it('changes need the session started at /console/login and its CSRF token', async () => {
    const browser = new TestBrowser();
    const headers = { [HEADER]: 'alice' };
    const post = (extra: Record<string, string>) =>
      browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', ...extra },
        body: JSON.stringify(token),
      });
    expect((await post({})).status).toBe(403);

    const login = await browser.fetch(`${behindProxy.consoleUrl}/console/login`, { headers });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/console/session');
    const session = await browser.fetch(`${behindProxy.consoleUrl}/console/session`, { headers });
    const { user, csrf_token: csrf } = session.json<{ user: string; csrf_token: string }>();
    expect(user).toBe('alice');

    const created = await post({ 'x-csrf-token': csrf });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ user: 'alice', status: 'active' });

    // The cookie without the header is nobody: the proxy vouches on every request.
    const cookieOnly = await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`);
    expect(cookieOnly.status).toBe(401);
    // alice's session does not carry over to another user the proxy names.
    const asBob = await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`, {
      method: 'POST',
      headers: { [HEADER]: 'bob', 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ ...token, resource_owner: 'bob' }),
    });
    expect(asBob.status).toBe(403);
    expect(browser.cookies(behindProxy.consoleUrl).has(SESSION_COOKIE)).toBe(true);
  });

  it('from any other peer, the header is ignored (401)', async () => {
    const browser = new TestBrowser();
    const headers = { [HEADER]: 'alice' };
    expect((await browser.fetch(`${elsewhere.consoleUrl}/v1/user/tokens`, { headers })).status).toBe(401);
    expect((await browser.fetch(`${elsewhere.consoleUrl}/console/login`, { headers })).status).toBe(401);
    expect(browser.cookies(elsewhere.consoleUrl).has(SESSION_COOKIE)).toBe(false);
  });
});
