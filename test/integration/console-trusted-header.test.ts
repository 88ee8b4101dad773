import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { TestBrowser } from '../helpers/oidc-browser.js';
import { admin, createToken, FEATURES, ROUTES } from '../helpers/stack.js';

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

  it('opens the token list from /console and /console/', async () => {
    const browser = new TestBrowser();
    const headers = { [HEADER]: 'alice' };
    expect((await browser.fetch(`${behindProxy.consoleUrl}/console/login`, { headers })).status).toBe(303);
    for (const path of ['/console', '/console/']) {
      const res = await browser.fetch(`${behindProxy.consoleUrl}${path}`, { headers });
      expect(res.status, path).toBe(303);
      expect(res.headers.location, path).toBe('/console/tokens');
    }
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

describe('the new-token form behind an SSO proxy', () => {
  /** `user`'s new-token form, through a session started at /console/login. */
  async function newTokenForm(user: string): Promise<string> {
    const browser = new TestBrowser();
    const headers = { [HEADER]: user };
    expect((await browser.fetch(`${behindProxy.consoleUrl}/console/login`, { headers })).status).toBe(303);
    const form = await browser.fetch(`${behindProxy.consoleUrl}/console/tokens/new`, { headers });
    expect(form.status).toBe(200);
    return form.text;
  }

  it('shows and keeps a description: template URL, form post, self-service API, token list', async () => {
    const browser = new TestBrowser();
    const headers = { [HEADER]: 'hana' };
    expect((await browser.fetch(`${behindProxy.consoleUrl}/console/login`, { headers })).status).toBe(303);
    const session = await browser.fetch(`${behindProxy.consoleUrl}/console/session`, { headers });
    const csrf = session.json<{ csrf_token: string }>().csrf_token;

    const template = await browser.fetch(
      `${behindProxy.consoleUrl}/console/tokens/new?name=ci&description=${encodeURIComponent('Deploys <api> & web')}`,
      { headers },
    );
    expect(template.status).toBe(200);
    expect(template.text).toMatch(/<label for="description">Description<\/label>/);
    expect(template.text).toMatch(
      /<textarea id="description" name="description" maxlength="1024"[^>]*>Deploys &lt;api&gt; &amp; web<\/textarea>/,
    );

    const posted = await browser.fetch(`${behindProxy.consoleUrl}/console/tokens`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        _csrf: csrf,
        name: 'from the form',
        description: 'Deploys <api> & web',
        owner: 'hana',
        repository_access: 'all',
        expiration: '7',
        'perm.issues': 'read',
      }).toString(),
    });
    expect(posted.status).toBe(200);
    expect(posted.text).toContain('Token created');

    const viaApi = await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({
        ...token,
        resource_owner: 'hana',
        name: 'from the api',
        description: 'Second line\nhere',
      }),
    });
    expect(viaApi.status).toBe(201);
    const id = viaApi.json<{ id: string; description: string }>().id;
    const read = await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens/${id}`, { headers });
    expect(read.json()).toMatchObject({ id, description: 'Second line\nhere' });
    const listed = await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`, { headers });
    expect(listed.json<{ tokens: { name: string; description?: string }[] }>().tokens).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'from the form', description: 'Deploys <api> & web' }),
        expect.objectContaining({ name: 'from the api', description: 'Second line\nhere' }),
      ]),
    );

    const page = await browser.fetch(`${behindProxy.consoleUrl}/console/tokens`, { headers });
    expect(page.text).toContain('<div class="hint description">Deploys &lt;api&gt; &amp; web</div>');
    expect(page.text).not.toContain('<api>');

    const tooLong = await browser.fetch(`${behindProxy.consoleUrl}/v1/user/tokens`, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ ...token, resource_owner: 'hana', description: 'x'.repeat(1025) }),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('description');
  });

  it("information disclosure: a member's form lists only repositories from their own tokens", async () => {
    const adminUrl = behindProxy.gateway.adminUrl;
    for (const [user, role] of [
      ['dana', 'admin'],
      ['erin', 'member'],
      ['frank', 'member'],
      ['gina', 'member'],
    ] as const) {
      expect((await admin(adminUrl, 'PUT', `/v1/orgs/globex/members/${user}`, { role })).status).toBe(200);
    }
    const tokenFor = (user: string, repositories: string[]) =>
      createToken(adminUrl, {
        user,
        resource_owner: 'globex',
        repositories,
        permissions: { issues: 'read' },
        expires_in_days: 7,
      });
    await tokenFor('frank', ['merger-secret']);
    await tokenFor('erin', ['erin-tools']);

    // A plain member: their own token's repository, never another member's.
    const erin = await newTokenForm('erin');
    expect(erin).toContain('value="globex/erin-tools"');
    expect(erin).not.toContain('merger-secret');
    const frank = await newTokenForm('frank');
    expect(frank).toContain('value="globex/merger-secret"');
    expect(frank).not.toContain('erin-tools');
    // A member with no tokens there is offered none; free entry still works.
    const gina = await newTokenForm('gina');
    expect(gina).toContain('<option value="globex"');
    expect(gina).not.toContain('Known repositories of globex');
    expect(gina).toContain('name="repositories_text"');
    // The org's admin sees what its token pages show anyway: every repository.
    const dana = await newTokenForm('dana');
    expect(dana).toContain('value="globex/erin-tools"');
    expect(dana).toContain('value="globex/merger-secret"');
  });
});
