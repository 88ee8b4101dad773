import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY } from '../../src/grants/owner.js';
import type { FineGrainedTokenRecord } from '../../src/grants/token-record.js';
import {
  type GrantStore,
  MemoryGrantStore,
  type PatgateEnv,
  type PatgateMiddleware,
  patgate,
  RedisGrantStore,
} from '../../src/hono/index.js';
import { generateToken, hashToken } from '../../src/tokens/format.js';
import { fineGrained, recordInvalidations } from '../contract/token-fixtures.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { eventually } from '../helpers/stack.js';

// A Hono app guarded by `patgate/hono`, served on a free port, against the memory store and
// against a private redis-server: the rows of the gateway's response table that a middleware
// can show, with the gateway's statuses, headers and bodies.

const CONFIG = {
  features: {
    metadata: ['read'],
    issues: ['read', 'write'],
    contents: ['read', 'write'],
  },
  implicit: ['metadata:read'],
  hide_forbidden: true,
  routes: [
    { route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:read' },
    { route: 'POST /repos/{owner}/{repo}/issues', permission: 'issues:write' },
    { route: 'GET /repos/{owner}/{repo}/contents/{path+}', permission: 'contents:read' },
    { route: 'GET /repos/{owner}/{repo}', permission: 'metadata:read' },
    { route: 'GET /status', public: true },
  ],
} as const;

const PROBLEM = 'https://patgate.dev/problems/';

interface Stack {
  /** The store the middleware reads. */
  readonly store: GrantStore;
  /** Where tokens are written and revoked: another client of the same store (another process, in production). */
  readonly admin: GrantStore;
  close(): Promise<void>;
}

interface Issued {
  readonly token: string;
  readonly record: FineGrainedTokenRecord;
}

async function issue(admin: GrantStore, overrides: Partial<FineGrainedTokenRecord> = {}): Promise<Issued> {
  const token = generateToken('fine_grained');
  const record = fineGrained({
    user: 'alice',
    resourceOwner: 'acme',
    repositories: ['api'],
    permissions: { issues: 'read', contents: 'read' },
    ...overrides,
  });
  await admin.createToken(hashToken(token), record);
  return { token, record };
}

const stacks: Record<string, () => Promise<Stack>> = {
  memory: async () => {
    const store = new MemoryGrantStore();
    return { store, admin: store, close: () => store.close() };
  },
  redis: async () => {
    const redis: TestRedis = await startRedisServer();
    const options = { url: redis.url, keyPrefix: 'hono:', commandTimeoutMs: 1_000 };
    const store = new RedisGrantStore(options);
    const admin = new RedisGrantStore(options);
    // Until its subscription is up the cache does not trust its entries; the test wants the
    // path where a cached grant is evicted by the other client's revocation.
    await eventually(async () => store.isSynchronized(), 5_000, 'the invalidation subscription');
    return {
      store,
      admin,
      close: async () => {
        await Promise.allSettled([store.close(), admin.close()]);
        await redis.stop();
      },
    };
  },
};

describe.each(Object.keys(stacks))('patgate/hono on the %s store', (kind) => {
  let stack: Stack;
  let guard: PatgateMiddleware;
  let server: ReturnType<typeof serve>;
  let base: string;
  /** Requests the app's own handlers ran: a refusal must never reach one. */
  let handled = 0;

  beforeAll(async () => {
    stack = await (stacks[kind] as () => Promise<Stack>)();
    guard = patgate({ config: CONFIG, store: stack.store });
    const app = new Hono<PatgateEnv>();
    app.use('*', guard);
    app.get('/repos/:owner/:repo/issues', (c) => {
      handled++;
      const who = c.get('patgate');
      return c.json({ who, path: c.req.path });
    });
    app.post('/repos/:owner/:repo/issues', (c) => {
      handled++;
      return c.json({ created: true }, 201);
    });
    app.get('/repos/:owner/:repo/contents/*', (c) => {
      handled++;
      return c.json({ path: c.req.path });
    });
    app.get('/status', (c) => {
      handled++;
      return c.json({ who: c.get('patgate') });
    });
    const info = await new Promise<AddressInfo>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, resolve);
    });
    base = `http://127.0.0.1:${info.port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await guard?.close();
    await stack?.close();
  });

  const get = (path: string, token?: string, init: RequestInit = {}): Promise<Response> =>
    fetch(base + path, {
      ...init,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...init.headers },
    });

  it('lets an allowed request through with the identity in the context and the expiry on the answer', async () => {
    const { token, record } = await issue(stack.admin);
    const before = handled;
    const res = await get('/repos/acme/api/issues', token);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-patgate-token-expiration')).toBe(record.expiresAt);
    const body = (await res.json()) as { who: Record<string, unknown> };
    expect(body.who).toMatchObject({
      user: 'alice',
      tokenId: record.id,
      route: 'GET /repos/{owner}/{repo}/issues',
      resource: { owner: 'acme', repo: 'api' },
      token: { kind: 'fine_grained', resourceOwner: 'acme', permissions: { issues: 'read' } },
    });
    expect(handled).toBe(before + 1);
    // GitHub's schemes are read as on the gateway.
    const octokit = await fetch(`${base}/repos/acme/api/issues`, {
      headers: { authorization: `token ${token}` },
    });
    expect(octokit.status).toBe(200);
  });

  it('answers 401 without a token, and 401 invalid_token for one the store does not know', async () => {
    const before = handled;
    const missing = await get('/repos/acme/api/issues');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="patgate"');
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(missing.headers.get('cache-control')).toBe('no-store');
    expect(await missing.json()).toEqual({
      type: `${PROBLEM}token_missing`,
      title: 'Authentication required',
      status: 401,
      detail: 'this route requires a bearer token',
      message: 'this route requires a bearer token',
      documentation_url: `${PROBLEM}token_missing`,
    });

    const unknown = await get('/repos/acme/api/issues', generateToken('fine_grained'));
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer realm="patgate", error="invalid_token"');
    expect(await unknown.json()).toMatchObject({ type: `${PROBLEM}token_unknown`, detail: 'unknown token' });

    const malformed = await get('/repos/acme/api/issues', 'pgt_not-a-token');
    expect(malformed.status).toBe(401);
    expect(await malformed.json()).toMatchObject({ type: `${PROBLEM}token_malformed` });
    // Plain JSON for a client that prefers it, as on the gateway (Octokit, gh).
    const json = await get('/repos/acme/api/issues', undefined, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(handled).toBe(before);
  });

  it('answers 403 with X-Accepted-Permissions when the permission is missing', async () => {
    const { token, record } = await issue(stack.admin);
    const before = handled;
    const res = await get('/repos/acme/api/issues', token, { method: 'POST', body: '{}' });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-accepted-permissions')).toBe('issues=write');
    expect(await res.json()).toEqual({
      type: `${PROBLEM}permission_missing`,
      title: 'Resource not accessible by this token',
      status: 403,
      detail: `token ${record.id} lacks issues:write`,
      message: `token ${record.id} lacks issues:write`,
      documentation_url: `${PROBLEM}permission_missing`,
      required_permissions: [['issues:write']],
    });
    expect(handled).toBe(before);
  });

  it('hides a repository outside the token behind the same 404 as no route at all', async () => {
    const { token } = await issue(stack.admin);
    const before = handled;
    const hidden = await get('/repos/acme/secret/issues', token);
    const otherOwner = await get('/repos/globex/api/issues', token);
    const noRoute = await get('/nowhere', token);
    expect([hidden.status, otherOwner.status, noRoute.status]).toEqual([404, 404, 404]);
    const expected = await noRoute.text();
    expect(await hidden.text()).toBe(expected);
    expect(await otherOwner.text()).toBe(expected);
    expect(JSON.parse(expected)).toMatchObject({ type: `${PROBLEM}not_found`, status: 404 });
    expect(handled).toBe(before);
  });

  it('sees a revocation made by another client of the store, though the grant was cached', async () => {
    const { token, record } = await issue(stack.admin);
    expect((await get('/repos/acme/api/issues', token)).status).toBe(200);
    // Served from the cache now (the store answered once).
    expect((await get('/repos/acme/api/issues', token)).status).toBe(200);
    const invalidations = recordInvalidations(stack.store);
    await stack.admin.setTokenStatus(record.id, 'revoked', 'leaked in a log');
    await invalidations.next((event) => event.kind === 'token');
    const res = await get('/repos/acme/api/issues', token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="patgate", error="invalid_token"');
    const body = (await res.json()) as { type: string; detail: string };
    expect(body.type).toBe(`${PROBLEM}token_revoked`);
    expect(body.detail).toMatch(/was revoked.*: leaked in a log$/);
  });

  it('applies the gateway request-shape rules that a fetch request can break', async () => {
    const { token } = await issue(stack.admin);
    const before = handled;
    const inQuery = await fetch(`${base}/repos/acme/api/issues?access_token=${token}`);
    expect(inQuery.status).toBe(400);
    expect(await inQuery.json()).toMatchObject({ type: `${PROBLEM}token_in_query` });
    const inCookie = await get('/repos/acme/api/issues', token, { headers: { cookie: `session=${token}` } });
    expect(inCookie.status).toBe(400);
    expect(await inCookie.json()).toMatchObject({ type: `${PROBLEM}token_outside_authorization` });
    const override = await get('/repos/acme/api/issues', token, {
      headers: { 'x-http-method-override': 'DELETE' },
    });
    expect(override.status).toBe(400);
    expect(await override.json()).toMatchObject({ type: `${PROBLEM}method_override` });
    // An encoded "/" outside a {name+} tail would name another repository to a decoding app.
    const slash = await get('/repos/acme/api%2Fother/issues', token);
    expect(slash.status).toBe(400);
    expect(await slash.json()).toMatchObject({ type: `${PROBLEM}bad_request_target` });
    expect(handled).toBe(before);
    // Inside the tail it is a file path, as on the gateway.
    const tail = await get('/repos/acme/api/contents/docs%2FREADME.md', token);
    expect(tail.status).toBe(200);
  });

  it('ip allow list: with clientAddress, the lists of the token and of its org are held to the connection address', async () => {
    const listed = patgate({
      config: CONFIG,
      store: stack.store,
      clientAddress: (c) => getConnInfo(c).remote.address,
    });
    const app = new Hono<PatgateEnv>();
    app.use('*', listed);
    app.get('/repos/:owner/:repo/issues', (c) => {
      handled++;
      return c.json({ who: c.get('patgate')?.user });
    });
    let listedServer: ReturnType<typeof serve> | undefined;
    const info = await new Promise<AddressInfo>((resolve) => {
      listedServer = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, resolve);
    });
    try {
      const at = (path: string, token: string): Promise<Response> =>
        fetch(`http://127.0.0.1:${info.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const { token: here } = await issue(stack.admin, { allowedIps: ['127.0.0.1'] });
      const { token: elsewhere, record } = await issue(stack.admin, { allowedIps: ['10.0.0.0/8'] });
      await stack.admin.setMember('near', 'alice', 'member');
      await stack.admin.setOrgPolicy('near', { ...DEFAULT_ORG_POLICY, ipAllowList: ['127.0.0.0/8'] });
      await stack.admin.setMember('far', 'alice', 'member');
      await stack.admin.setOrgPolicy('far', { ...DEFAULT_ORG_POLICY, ipAllowList: ['192.0.2.0/24'] });
      const { token: nearToken } = await issue(stack.admin, { resourceOwner: 'near' });
      const { token: farToken } = await issue(stack.admin, { resourceOwner: 'far' });

      const before = handled;
      for (const [path, token] of [
        ['/repos/acme/api/issues', here],
        ['/repos/near/api/issues', nearToken],
      ] as const) {
        const res = await at(path, token);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ who: 'alice' });
      }
      expect(handled).toBe(before + 2);

      const outside = await at('/repos/acme/api/issues', elsewhere);
      expect(outside.status).toBe(403);
      expect(await outside.json()).toMatchObject({
        type: `${PROBLEM}ip_not_allowed`,
        detail: `client address 127.0.0.1 is not among token ${record.id}'s allowed IPs`,
      });
      const outsideOrg = await at('/repos/far/api/issues', farToken);
      expect(outsideOrg.status).toBe(403);
      expect(await outsideOrg.json()).toMatchObject({
        type: `${PROBLEM}ip_not_allowed`,
        detail: "client address 127.0.0.1 is not in organization far's IP allow list",
      });
      expect(handled).toBe(before + 2);
    } finally {
      await new Promise<void>((resolve) => (listedServer ? listedServer.close(() => resolve()) : resolve()));
      await listed.close();
    }
  });

  it('ip allow list: an address the app vouches for is read as the gateway reads one; anything else is no address', async () => {
    // As behind a proxy that states the client in a header of its own (here X-Test-Client).
    const vouched = patgate({
      config: CONFIG,
      store: stack.store,
      clientAddress: (c) =>
        c.req.header('x-test-client') === 'null'
          ? (null as unknown as string)
          : c.req.header('x-test-client'),
    });
    const app = new Hono<PatgateEnv>();
    app.use('*', vouched);
    app.get('/repos/:owner/:repo/issues', (c) => {
      handled++;
      return c.json({ who: c.get('patgate')?.user });
    });
    try {
      const { token, record } = await issue(stack.admin, { allowedIps: ['127.0.0.1'] });
      const ask = async (client: string | undefined): Promise<Response> =>
        await app.request('/repos/acme/api/issues', {
          headers: {
            authorization: `Bearer ${token}`,
            ...(client === undefined ? {} : { 'x-test-client': client }),
          },
        });
      const mapped = await ask('::ffff:127.0.0.1');
      expect(mapped.status).toBe(200);
      expect(await mapped.json()).toEqual({ who: 'alice' });
      const outside = await ask('::ffff:10.0.0.1');
      expect(outside.status).toBe(403);
      expect(await outside.json()).toMatchObject({
        detail: `client address 10.0.0.1 is not among token ${record.id}'s allowed IPs`,
      });
      const before = handled;
      for (const client of [undefined, '', 'null', '127.0.0.1:443', '<b>127.0.0.1</b>']) {
        const res = await ask(client);
        expect(res.status, String(client)).toBe(403);
        const body = (await res.json()) as { type: string; detail: string };
        expect(body.type).toBe(`${PROBLEM}ip_not_allowed`);
        expect(body.detail).toContain("this app does not say the client's");
        expect(body.detail).not.toContain('<b>');
      }
      expect(handled).toBe(before);
    } finally {
      await vouched.close();
    }
  });

  it('ip allow list: without clientAddress, a grant limited to listed addresses is refused (403), never allowed from anywhere', async () => {
    // This app does not say who the client is; the gateway, or an app with clientAddress, can.
    const { token } = await issue(stack.admin, { allowedIps: ['127.0.0.1'] });
    await stack.admin.setMember('listed', 'alice', 'member');
    await stack.admin.setOrgPolicy('listed', { ...DEFAULT_ORG_POLICY, ipAllowList: ['127.0.0.0/8'] });
    const { token: orgToken } = await issue(stack.admin, { resourceOwner: 'listed' });
    const before = handled;
    for (const [path, credential] of [
      ['/repos/acme/api/issues', token],
      ['/repos/listed/api/issues', orgToken],
    ] as const) {
      const res = await get(path, credential);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ type: `${PROBLEM}ip_not_allowed`, status: 403 });
    }
    expect(handled).toBe(before);
  });

  it('runs public routes without a token and says so in the context', async () => {
    const res = await get('/status');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ who: null });
    expect(res.headers.get('x-patgate-token-expiration')).toBeNull();
  });
});
