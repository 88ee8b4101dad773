import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, startGateway, TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { signIn, TestBrowser } from '../helpers/oidc-browser.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { FEATURES, ROUTES } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

const SECRET_ENV = 'PATGATE_TEST_OIDC_SECRET';
const SESSION_COOKIE = '__Host-patgate_session';

interface Instance {
  readonly gateway: GatewayProcess;
  readonly consoleUrl: string;
}

let redis: TestRedis;
let upstream: TestUpstream;
let provider: TestOidcProvider;
let main: Instance;
let idle: Instance;

async function startInstance(
  port: number,
  prefix: string,
  session: string,
  userClaim = '',
): Promise<Instance> {
  const consoleUrl = `http://127.0.0.1:${port}`;
  const gateway = await startGateway(
    `
listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
upstream: { url: "${upstream.url}" }
store: { redis_url: "${redis.url}", key_prefix: "${prefix}" }
console:
  listen: "127.0.0.1:${port}"
  public_url: "${consoleUrl}"
  oidc:
    issuer: "${provider.issuer}"
    client_id: "${provider.clientId}"
    client_secret_env: ${SECRET_ENV}
    ${userClaim}
  session: ${session}
${FEATURES}
${ROUTES}
`,
    { env: { [SECRET_ENV]: provider.clientSecret } },
  );
  await gateway.waitForLine((l) => l.includes('"console listening"'));
  return { gateway, consoleUrl };
}

async function admin(method: string, path: string, body?: unknown, token = TEST_ADMIN_TOKEN) {
  const res = await request(`${main.gateway.adminUrl}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

/** A signed-in person's API calls through the console listener. */
function person(browser: TestBrowser, consoleUrl: string, csrf: string | null) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await browser.fetch(`${consoleUrl}${path}`, {
      method,
      headers: {
        ...(csrf === null ? {} : { 'x-csrf-token': csrf }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, body: res.text === '' ? {} : res.json() };
  };
}

const fineGrained = (owner: string, extra: Record<string, unknown> = {}) => ({
  kind: 'fine_grained',
  name: `ci for ${owner}`,
  resource_owner: owner,
  repositories: ['api'],
  permissions: { issues: 'read' },
  expires_in_days: 30,
  ...extra,
});

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startTestUpstream();
  const [mainPort, idlePort] = [await freePort(), await freePort()];
  provider = await startOidcProvider({
    redirectUris: [
      `http://127.0.0.1:${mainPort}/console/callback`,
      `http://127.0.0.1:${idlePort}/console/callback`,
    ],
    accounts: {
      alice: { preferred_username: 'Alice' },
      bob: { preferred_username: 'bob' },
      'carol@example.com': { preferred_username: 'carol' },
    },
  });
  main = await startInstance(mainPort, 'pgc:', '{ idle_minutes: 60, absolute_hours: 12 }');
  // Sessions here are over after 3 s unused; the test waits for Redis to expire the key.
  idle = await startInstance(idlePort, 'pgi:', '{ idle_minutes: 0.05 }');

  // acme: alice is an admin; strict: blocks fine-grained tokens; short: at most 7 days;
  // review: every token needs approval.
  for (const org of ['acme', 'strict', 'short', 'review']) {
    expect((await admin('PUT', `/v1/orgs/${org}/members/alice`, { role: 'admin' })).status).toBe(200);
  }
  expect(
    (await admin('PUT', '/v1/orgs/strict/policy', { fine_grained_tokens: 'blocked', force: true })).status,
  ).toBe(200);
  expect((await admin('PUT', '/v1/orgs/short/policy', { max_lifetime_days: 7 })).status).toBe(200);
  expect((await admin('PUT', '/v1/orgs/review/policy', { require_approval: true })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([main?.gateway.stop(), idle?.gateway.stop()]);
  await Promise.allSettled([provider?.close(), upstream?.close(), redis?.stop()]);
});

describe('console sign-in (OIDC, authorization code + PKCE)', () => {
  it('signs a person in through the provider and sets a __Host- session cookie', async () => {
    const browser = new TestBrowser();
    const { user, csrf, hops } = await signIn(browser, main.consoleUrl, 'alice');
    expect(user).toBe('alice');
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(provider.logins).toContain('alice');

    const login = hops[0];
    expect(login?.status).toBe(302);
    const authorize = new URL(String(login?.headers.location));
    expect(authorize.origin).toBe(provider.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    for (const p of ['code_challenge', 'state', 'nonce'])
      expect(authorize.searchParams.get(p)).toMatch(/.{20,}/);

    const callback = hops.find((h) => new URL(h.url).pathname === '/console/callback');
    const setCookie = ([] as string[]).concat(callback?.headers['set-cookie'] ?? []);
    const session = setCookie.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    expect(session).toBeDefined();
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/'])
      expect(session).toContain(attribute);
    expect(session).not.toMatch(/Domain=/i);

    // Only the SHA-256 of the session id is stored.
    const id = browser.cookies(main.consoleUrl).get(SESSION_COOKIE) ?? '';
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('pgc:session:*');
      expect(keys).toContain(`pgc:session:${createHash('sha256').update(id).digest('hex')}`);
      expect(keys.some((k) => k.includes(id))).toBe(false);
      const ttl = await client.pttl(`pgc:session:${createHash('sha256').update(id).digest('hex')}`);
      expect(ttl).toBeGreaterThan(59 * 60_000);
      expect(ttl).toBeLessThanOrEqual(60 * 60_000);
    } finally {
      client.disconnect();
    }
  });

  it('refuses a callback from a browser that did not start the sign-in', async () => {
    const attacker = new TestBrowser();
    const hops = await attacker.follow(`${main.consoleUrl}/console/login`, 'bob');
    const callback = hops.find((h) => new URL(h.url).pathname === '/console/callback');
    expect(callback).toBeDefined();
    // The victim's browser is sent the attacker's callback URL: no sign-in cookie, no session.
    const victim = new TestBrowser();
    const res = await victim.fetch(callback?.url ?? '');
    expect(res.status).toBe(400);
    expect(victim.cookies(main.consoleUrl).has(SESSION_COOKIE)).toBe(false);
  });

  it('refuses a replayed callback (the code and the sign-in are single use)', async () => {
    const browser = new TestBrowser();
    const { hops } = await signIn(browser, main.consoleUrl, 'bob');
    const callback = hops.find((h) => new URL(h.url).pathname === '/console/callback');
    const res = await browser.fetch(callback?.url ?? '');
    expect(res.status).toBe(400);
  });

  it('refuses a subject that is not a patgate login (403), creating no session', async () => {
    const browser = new TestBrowser();
    const hops = await browser.follow(`${main.consoleUrl}/console/login`, 'carol@example.com');
    const last = hops[hops.length - 1];
    expect(last?.status).toBe(403);
    expect(last?.json()).toMatchObject({ type: expect.stringContaining('not_a_login') });
    expect(browser.cookies(main.consoleUrl).has(SESSION_COOKIE)).toBe(false);
  });

  it('returns to a console path given at login, never to another origin', async () => {
    const browser = new TestBrowser();
    const own = await browser.follow(
      `${main.consoleUrl}/console/login?return_to=%2Fv1%2Fuser%2Ftokens`,
      'alice',
    );
    expect(new URL(own[own.length - 1]?.url ?? '').pathname).toBe('/v1/user/tokens');
    const other = await new TestBrowser().follow(
      `${main.consoleUrl}/console/login?return_to=%2F%2Fevil.example%2F`,
      'alice',
    );
    expect(new URL(other[other.length - 1]?.url ?? '').href).toBe(`${main.consoleUrl}/console/session`);
  });
});

describe('self-service API on the console listener', () => {
  let alice: ReturnType<typeof person>;
  let bob: ReturnType<typeof person>;
  let aliceBrowser: TestBrowser;
  let aliceCsrf: string;

  beforeAll(async () => {
    aliceBrowser = new TestBrowser();
    aliceCsrf = (await signIn(aliceBrowser, main.consoleUrl, 'alice')).csrf;
    alice = person(aliceBrowser, main.consoleUrl, aliceCsrf);
    const bobBrowser = new TestBrowser();
    bob = person(bobBrowser, main.consoleUrl, (await signIn(bobBrowser, main.consoleUrl, 'bob')).csrf);
  });

  it('creates a token for the signed-in person, usable on the gateway at once', async () => {
    const created = await alice('POST', '/v1/user/tokens', fineGrained('acme'));
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.body).toMatchObject({ user: 'alice', resource_owner: 'acme', status: 'active' });
    const secret = String(created.body.token);
    const res = await request(`${main.gateway.url}/repos/acme/api/issues`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
  });

  it('applies every org policy exactly as for the site admin', async () => {
    const blocked = await alice('POST', '/v1/user/tokens', fineGrained('strict'));
    expect(blocked.status).toBe(422);
    expect(String(blocked.body.detail)).toContain('blocks fine-grained tokens');

    const tooLong = await alice('POST', '/v1/user/tokens', fineGrained('short', { expires_in_days: 8 }));
    expect(tooLong.status).toBe(422);
    expect(String(tooLong.body.detail)).toContain('at most 7 days');

    const notMember = await bob('POST', '/v1/user/tokens', fineGrained('acme'));
    expect(notMember.status).toBe(422);
    expect(String(notMember.body.detail)).toContain('bob is not a member of organization acme');

    const pending = await alice('POST', '/v1/user/tokens', fineGrained('review'));
    expect(pending.status).toBe(201);
    expect(pending.body.status).toBe('pending');

    const unknownFeature = await alice(
      'POST',
      '/v1/user/tokens',
      fineGrained('acme', { permissions: { isues: 'read' } }),
    );
    expect(unknownFeature.status).toBe(400);
  });

  it('never issues for someone else: a body naming a user is refused', async () => {
    const res = await alice('POST', '/v1/user/tokens', { ...fineGrained('acme'), user: 'bob' });
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('user');
    const listed = await bob('GET', '/v1/user/tokens');
    expect((listed.body.tokens as unknown[]).length).toBe(0);
  });

  it('lists, reads, regenerates and revokes only the person’s own tokens', async () => {
    const created = await alice('POST', '/v1/user/tokens', fineGrained('acme', { name: 'to rotate' }));
    const id = String(created.body.id);
    const oldSecret = String(created.body.token);

    const list = await alice('GET', '/v1/user/tokens');
    expect(list.status).toBe(200);
    const tokens = list.body.tokens as { id: string; user: string }[];
    expect(tokens.map((t) => t.id)).toContain(id);
    expect(tokens.every((t) => t.user === 'alice')).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(oldSecret);

    const got = await alice('GET', `/v1/user/tokens/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id, name: 'to rotate' });

    // Someone else's token is answered as an unknown one.
    for (const [method, path] of [
      ['GET', `/v1/user/tokens/${id}`],
      ['DELETE', `/v1/user/tokens/${id}`],
      ['POST', `/v1/user/tokens/${id}/regenerate`],
    ] as const) {
      const res = await bob(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await alice('GET', `/v1/user/tokens/${id}`)).body.status).toBe('active');

    const regenerated = await alice('POST', `/v1/user/tokens/${id}/regenerate`, { expires_in_days: 7 });
    expect(regenerated.status).toBe(200);
    const newSecret = String(regenerated.body.token);
    expect(newSecret).not.toBe(oldSecret);
    const oldUse = await request(`${main.gateway.url}/repos/acme/api/issues`, {
      headers: { authorization: `Bearer ${oldSecret}` },
    });
    await oldUse.body.dump();
    expect(oldUse.statusCode).toBe(401);

    const revoked = await alice('DELETE', `/v1/user/tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const newUse = await request(`${main.gateway.url}/repos/acme/api/issues`, {
      headers: { authorization: `Bearer ${newSecret}` },
    });
    await newUse.body.dump();
    expect(newUse.statusCode).toBe(401);

    // The audit names the person, acting through the console (no token).
    const audit = await admin('GET', `/v1/audit?token=${id}`);
    const events = audit.body.events as { action: string; actor: Record<string, unknown> }[];
    expect(events.map((e) => e.action).sort()).toEqual(['token.create', 'token.regenerate', 'token.revoke']);
    for (const e of events) expect(e.actor).toEqual({ kind: 'user', user: 'alice', token_id: null });
  });

  it('lists and accepts the person’s invitations', async () => {
    // alice, an admin of acme, invites bob with her own org-admin token.
    const orgToken = await alice(
      'POST',
      '/v1/user/tokens',
      fineGrained('acme', { repositories: 'all', permissions: { organization_tokens: 'write' } }),
    );
    const invited = await admin(
      'PUT',
      '/v1/orgs/acme/members/bob',
      { role: 'member' },
      String(orgToken.body.token),
    );
    expect(invited.status).toBe(202);

    const list = await bob('GET', '/v1/user/invitations');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({
      user: 'bob',
      invitations: [{ org: 'acme', user: 'bob', role: 'member' }],
    });
    expect((await alice('POST', '/v1/user/invitations/acme/accept')).status).toBe(404);

    const accepted = await bob('POST', '/v1/user/invitations/acme/accept');
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ org: 'acme', user: 'bob', role: 'member' });
    // A member now: bob's own token for acme is issued.
    expect((await bob('POST', '/v1/user/tokens', fineGrained('acme'))).status).toBe(201);
  });

  it('refuses every change without the session’s CSRF token (403), in the header or the form', async () => {
    const noCsrf = person(aliceBrowser, main.consoleUrl, null);
    expect((await noCsrf('POST', '/v1/user/tokens', fineGrained('acme'))).status).toBe(403);
    const wrong = person(aliceBrowser, main.consoleUrl, 'x'.repeat(43));
    expect((await wrong('POST', '/v1/user/tokens', fineGrained('acme'))).status).toBe(403);
    expect((await noCsrf('POST', '/console/logout')).status).toBe(403);
    // The form field, as a page without JavaScript sends it.
    const form = await aliceBrowser.fetch(`${main.consoleUrl}/console/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent('y'.repeat(43))}`,
    });
    expect(form.status).toBe(403);
    // Reads need none.
    expect((await noCsrf('GET', '/v1/user/tokens')).status).toBe(200);
  });

  it('answers 401 without a session, or with one that is not on record', async () => {
    const nobody = person(new TestBrowser(), main.consoleUrl, null);
    expect((await nobody('GET', '/v1/user/tokens')).status).toBe(401);
    expect((await nobody('GET', '/v1/user/invitations')).status).toBe(401);
    expect((await nobody('POST', '/v1/user/tokens', fineGrained('acme'))).status).toBe(401);
    const forged = new TestBrowser();
    forged.setCookie(main.consoleUrl, SESSION_COOKIE, 'A'.repeat(43));
    expect((await person(forged, main.consoleUrl, null)('GET', '/v1/user/tokens')).status).toBe(401);
  });

  it('limits bodies to 64 KiB while they stream (413)', async () => {
    const res = await alice('POST', '/v1/user/tokens', { ...fineGrained('acme'), name: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
  });

  it('signs out with the CSRF token: the session is gone', async () => {
    const browser = new TestBrowser();
    const { csrf } = await signIn(browser, main.consoleUrl, 'alice');
    const cookie = browser.cookies(main.consoleUrl).get(SESSION_COOKIE) ?? '';
    const out = await browser.fetch(`${main.consoleUrl}/console/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(csrf)}`,
    });
    expect(out.status).toBe(204);
    expect(browser.cookies(main.consoleUrl).has(SESSION_COOKIE)).toBe(false);
    // The old cookie, replayed, is no session.
    const replay = new TestBrowser();
    replay.setCookie(main.consoleUrl, SESSION_COOKIE, cookie);
    expect((await person(replay, main.consoleUrl, csrf)('GET', '/v1/user/tokens')).status).toBe(401);
  });
});

describe('idle sessions', () => {
  it('end when Redis expires them after the idle limit (401)', async () => {
    const events = new Redis(redis.url);
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'notify-keyspace-events', 'Ex');
      await events.subscribe('__keyevent@0__:expired');
      const browser = new TestBrowser();
      await signIn(browser, idle.consoleUrl, 'alice');
      const id = browser.cookies(idle.consoleUrl).get(SESSION_COOKIE) ?? '';
      const key = `pgi:session:${createHash('sha256').update(id).digest('hex')}`;
      const expired = new Promise<void>((resolve) =>
        events.on('message', (_channel: string, message: string) => {
          if (message === key) resolve();
        }),
      );
      expect((await person(browser, idle.consoleUrl, null)('GET', '/v1/user/tokens')).status).toBe(200);
      await expired;
      expect((await person(browser, idle.consoleUrl, null)('GET', '/v1/user/tokens')).status).toBe(401);
    } finally {
      events.disconnect();
      admin.disconnect();
    }
  });
});
