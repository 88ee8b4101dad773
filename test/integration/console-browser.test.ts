import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, startGateway, TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { INTERACTION_PATH, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { ROUTES } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

/**
 * The console in a real browser: Debian's chromium driven by playwright-core, signing in
 * through a real OIDC provider, against a real gateway process, upstream and Redis.
 * Each page the story passes is written to docs/images/console-*.png.
 */

const CHROMIUM = '/usr/bin/chromium';
const SECRET_ENV = 'PATGATE_TEST_OIDC_SECRET';
const IMAGES = resolve(import.meta.dirname, '../../docs/images');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const FEATURES = `
features:
  metadata: { levels: [read], title: "Metadata", description: "Repository names and settings; every token holds it." }
  contents: { levels: [read, write], title: "Contents", description: "Files, commits and branches." }
  issues: { levels: [read, write], title: "Issues", description: "Issues and their comments." }
  pull_requests: [read, write]
  members: { levels: [read, write], title: "Members", description: "The organization's members." }
  administration: [read, write, admin]
`;

let redis: TestRedis;
let upstream: TestUpstream;
let provider: TestOidcProvider;
let gateway: GatewayProcess;
let consoleUrl: string;
let browser: Browser;
let bob: Page;
let alice: Page;
const contexts: BrowserContext[] = [];

async function admin(method: string, path: string, body?: unknown): Promise<number> {
  const res = await request(`${gateway.adminUrl}${path}`, {
    method: method as 'PUT',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.body.dump();
  return res.statusCode;
}

async function throughGateway(method: string, path: string, token: string) {
  const res = await request(`${gateway.url}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/**
 * Opens `path` as `account`: the console sends the browser to the provider, whose
 * interaction page (programmatic in the test provider) is told who logs in; the
 * provider then redirects back through the console's callback to `path`.
 */
async function openSignedIn(page: Page, path: string, account: string): Promise<void> {
  await page.goto(`${consoleUrl}${path}`);
  if (!page.url().startsWith(consoleUrl)) {
    const interaction = new URL(page.url());
    expect(interaction.pathname).toMatch(INTERACTION_PATH);
    interaction.searchParams.set('login', account);
    await page.goto(interaction.href);
  }
  // Where a sign-in stops short (an error page at the callback), the page says why.
  const landed = page.url();
  expect(landed, landed === `${consoleUrl}${path}` ? '' : await page.innerText('body')).toBe(
    `${consoleUrl}${path}`,
  );
}

/** Clicks something that submits a form and waits for the page the answer leads to. */
async function submit(page: Page, click: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForEvent('framenavigated'), click()]);
  await page.waitForLoadState('load');
}

async function shoot(page: Page, name: string, mask: string[] = []): Promise<void> {
  await page.screenshot({
    path: resolve(IMAGES, `console-${name}.png`),
    fullPage: true,
    mask: mask.map((selector) => page.locator(selector)),
  });
}

beforeAll(async () => {
  await mkdir(IMAGES, { recursive: true });
  redis = await startRedisServer();
  upstream = await startTestUpstream();
  const port = await freePort();
  consoleUrl = `http://127.0.0.1:${port}`;
  provider = await startOidcProvider({
    redirectUris: [`${consoleUrl}/console/callback`],
    accounts: { alice: { preferred_username: 'alice' }, bob: { preferred_username: 'bob' } },
  });
  gateway = await startGateway(
    `
listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
upstream: { url: "${upstream.url}" }
store: { redis_url: "${redis.url}", key_prefix: "pgb:" }
hide_forbidden: false
console:
  listen: "127.0.0.1:${port}"
  public_url: "${consoleUrl}"
  oidc:
    issuer: "${provider.issuer}"
    client_id: "${provider.clientId}"
    client_secret_env: ${SECRET_ENV}
  site_admins: [alice]
${FEATURES}
${ROUTES}
`,
    { env: { [SECRET_ENV]: provider.clientSecret } },
  );
  await gateway.waitForLine((l) => l.includes('"console listening"'));
  expect(await admin('PUT', '/v1/orgs/acme/members/alice', { role: 'admin' })).toBe(200);
  expect(await admin('PUT', '/v1/orgs/acme/members/bob', { role: 'member' })).toBe(200);
  expect(
    await admin('PUT', '/v1/orgs/acme/policy', {
      require_approval: true,
      max_lifetime_days: 90,
      force: true,
    }),
  ).toBe(200);

  // A temporary profile per launch (playwright makes a fresh user-data-dir), one context per person.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  for (let i = 0; i < 2; i++)
    contexts.push(await browser.newContext({ viewport: { width: 1200, height: 900 } }));
  const [bobContext, aliceContext] = contexts as [BrowserContext, BrowserContext];
  bob = await bobContext.newPage();
  alice = await aliceContext.newPage();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(contexts.map((c) => c.close()));
  await browser?.close();
  await gateway?.stop();
  await Promise.allSettled([provider?.close(), upstream?.close(), redis?.stop()]);
});

describe('the console in a browser', () => {
  let secret = '';
  let tokenId = '';

  it('signs bob in through the provider and pre-fills the form from a template URL', async () => {
    const template =
      '/console/tokens/new?name=triage&owner=acme&repositories=api&permissions=issues:read&expires_in_days=7';
    await openSignedIn(bob, template, 'bob');
    expect(await bob.getByLabel('Token name').inputValue()).toBe('triage');
    expect(await bob.getByLabel('Owner', { exact: true }).inputValue()).toBe('acme');
    expect(await bob.getByLabel('Issues').inputValue()).toBe('read');
    expect(await bob.getByLabel('Contents').inputValue()).toBe('none');
    expect(await bob.getByLabel('Expires in').inputValue()).toBe('7');
    expect(await bob.getByLabel('Repositories (for "Only select repositories")').inputValue()).toBe('api');
    expect(await bob.locator('#access-selected').isChecked()).toBe(true);
    // The owner's rules are stated on the page, and the feature catalogue's descriptions shown.
    expect(await bob.locator('#owner-rules').textContent()).toContain('acme: tokens of at most 90 days');
    expect(await bob.locator('#owner-rules').textContent()).toContain('approves each token first');
    await bob.getByText('Issues and their comments.').waitFor({ state: 'visible' });
    await shoot(bob, 'new-token');
  });

  it('keeps to the security headers: a CSP without inline script, never framed', async () => {
    const res = await bob.goto(`${consoleUrl}/console/tokens`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res?.headers()['cache-control']).toBe('no-store');
    // Keyboard first: the first Tab lands on the skip link, which is then visible.
    await bob.keyboard.press('Tab');
    expect(await bob.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
  });

  it('creates the token and shows its secret once, with a copy button', async () => {
    await bob.goto(
      `${consoleUrl}/console/tokens/new?name=triage&owner=acme&repositories=api&permissions=issues:read&expires_in_days=7`,
    );
    await submit(bob, () => bob.getByRole('button', { name: 'Generate token' }).click());
    await bob.getByRole('heading', { name: 'Token created' }).waitFor({ state: 'visible' });
    secret = await bob.locator('#token-secret').inputValue();
    expect(secret).toMatch(/^pgt_/);
    // The copy button is hidden in the markup and shown by the external script.
    await bob.getByRole('button', { name: 'Copy token' }).waitFor({ state: 'visible' });
    expect(await bob.locator('script:not([src])').count()).toBe(0);
    expect(bob.url()).not.toContain(secret);
    expect(await bob.locator('.notice strong').textContent()).toBe('pending');
    await shoot(bob, 'token-secret', ['#token-secret']);

    await bob.goto(`${consoleUrl}/console/tokens`);
    expect(await bob.content()).not.toContain(secret);
    const row = bob.getByRole('row', { name: /triage/ });
    expect(await row.textContent()).toContain('pending');
    tokenId = (await row.locator('.mono').first().textContent()) ?? '';
    expect(tokenId).toMatch(/^tok_/);
  });

  it('is refused at the gateway until an org admin approves it, then passes', async () => {
    expect((await throughGateway('GET', '/repos/acme/api/issues', secret)).body.type).toMatch(
      /token_pending$/,
    );

    await openSignedIn(alice, '/console/orgs/acme/requests', 'alice');
    const request = alice.getByRole('row', { name: /triage/ });
    expect(await request.textContent()).toContain('bob');
    await shoot(alice, 'approval-queue');
    await submit(alice, () => request.getByRole('button', { name: 'Approve triage by bob' }).click());
    await alice.getByText('No requests are waiting.').waitFor({ state: 'visible' });

    const allowed = await throughGateway('GET', '/repos/acme/api/issues', secret);
    expect(allowed.status).toBe(200);
    expect(upstream.requests.some((r) => r.url === '/repos/acme/api/issues')).toBe(true);
  });

  it('answers a missing permission with a request_access_url that opens the pre-filled form', async () => {
    const refused = await throughGateway('POST', '/repos/acme/api/issues', secret);
    expect(refused.status).toBe(403);
    const link = String(refused.body.request_access_url);
    expect(link.startsWith(`${consoleUrl}/console/tokens/new?`)).toBe(true);
    await bob.goto(link);
    expect(await bob.getByLabel('Owner', { exact: true }).inputValue()).toBe('acme');
    expect(await bob.getByLabel('Issues').inputValue()).toBe('write');
    // acme/api is now a known repository of acme (its tokens name it): offered as a checkbox, ticked.
    expect(await bob.getByLabel('acme/api').isChecked()).toBe(true);
  });

  it('explains a route for a token on the site admin route map', async () => {
    await alice.goto(
      `${consoleUrl}/console/admin/routes?method=POST&path=${encodeURIComponent('/repos/acme/api/issues')}&token=${tokenId}`,
    );
    expect(await alice.locator('dl.facts').textContent()).toContain(
      'requires issues:write on repository {owner}/{repo}',
    );
    expect(await alice.locator('dl.facts').textContent()).toContain(
      'would be refused: 403 permission_missing',
    );
    await shoot(alice, 'route-map');
  });

  it('revokes the token from the list, and the gateway stops it', async () => {
    await bob.goto(`${consoleUrl}/console/tokens`);
    await shoot(bob, 'tokens');
    await submit(bob, () => bob.getByRole('button', { name: 'Revoke triage' }).click());
    expect(await bob.getByRole('row', { name: /triage/ }).textContent()).toContain('revoked');
    expect((await throughGateway('GET', '/repos/acme/api/issues', secret)).status).toBe(401);
  });

  it("shows the org's audit log with the person as the actor, filtered", async () => {
    await alice.goto(`${consoleUrl}/console/orgs/acme/audit`);
    const log = alice.locator('table');
    expect(await log.textContent()).toContain('token.create');
    expect(await log.textContent()).toContain('token.approve');
    expect(await log.textContent()).toContain('token.revoke');
    expect(await log.textContent()).toContain('alice (console)');
    expect(await log.textContent()).toContain('bob (console)');
    await shoot(alice, 'audit');
    await alice.getByLabel('Action').selectOption('token.approve');
    await submit(alice, () => alice.getByRole('button', { name: 'Filter' }).click());
    expect(await alice.locator('table tbody tr').count()).toBe(1);
  });

  it('keeps org pages to the org admins: bob is refused', async () => {
    const res = await bob.goto(`${consoleUrl}/console/orgs/acme/requests`);
    expect(res?.status()).toBe(403);
  });

  it('signs out from the page: the session is gone', async () => {
    await bob.goto(`${consoleUrl}/console/tokens`);
    await submit(bob, () => bob.getByRole('button', { name: 'Sign out' }).click());
    expect(new URL(bob.url()).pathname).toBe('/console/signed-out');
    // The browser's own cookies now name no session: the console answers 401 to them.
    expect((await bob.request.get(`${consoleUrl}/console/session`)).status()).toBe(401);
  });
});
