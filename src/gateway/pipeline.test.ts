import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classic, fineGrained } from '../../test/contract/token-fixtures.js';
import { startTestUpstream, type TestUpstream } from '../../test/helpers/upstream.js';
import { loadConfigText } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Upstream } from '../proxy/upstream.js';
import { TrustedProxies } from '../request/trusted-proxies.js';
import { GrantCache } from '../store/cached-grant-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { GrantSnapshot } from '../store/grant-store.js';
import { MemoryGrantStore } from '../store/memory-store.js';
import { generateToken, hashToken } from '../tokens/format.js';
import { LastUsedRecorder } from './last-used.js';
import { Gateway } from './pipeline.js';
import { createGatewayServer, DEFAULT_GATEWAY_SERVER_OPTIONS } from './server.js';

/** A memory store whose lookups can be made to fail, as Redis does when it is down. */
class FlakyStore extends MemoryGrantStore {
  failing = false;
  override lookup(tokenHash: string, owner: string): Promise<GrantSnapshot | null> {
    if (this.failing) return Promise.reject(new StoreUnavailableError({ cause: new Error('down') }));
    return super.lookup(tokenHash, owner);
  }
}

const CONFIG = `
listen: "127.0.0.1:0"
upstream: { url: "http://127.0.0.1:9" }
admin: { listen: "127.0.0.1:0" }
features: { contents: [read, write], issues: [read, write] }
routes:
  - route: "GET /repos/{owner}/{repo}/issues/{number}"
    permission: "issues:read"
  - route: "GET /repos/{owner}/{repo}/contents/{path+}"
    permission: "contents:read"
  - route: "GET /status"
    public: true
  - route: "GET /big/{bytes}"
    public: true
  - route: "GET /slow/{ms}"
    public: true
  - route: "GET /reset"
    public: true
`;

let upstream: TestUpstream;
let forwarder: Upstream;
let store: FlakyStore;
let gateway: Gateway;
let server: Server;
let base: string;
const client = new Agent({ connections: 8 });
let liveToken: string;
let classicToken: string;

beforeAll(async () => {
  upstream = await startTestUpstream();
  const result = loadConfigText(CONFIG, 'pipeline.test.yaml');
  if (!result.ok) throw new Error(result.errors.join('\n'));
  const { loaded } = result;
  store = new FlakyStore();
  await store.setMember('acme', 'alice', 'member');
  liveToken = generateToken('fine_grained');
  await store.createToken(hashToken(liveToken), fineGrained({ permissions: { issues: 'read' } }));
  classicToken = generateToken('classic');
  await store.createToken(hashToken(classicToken), classic());
  const metrics = new Metrics({ defaultMetrics: false });
  // 300 ms: `/slow/{ms}` past it is a 504.
  forwarder = new Upstream({ url: upstream.url, timeoutMs: 300, connectTimeoutMs: 1_000, connections: 8 });
  gateway = new Gateway({
    routes: {
      matcher: loaded.matcher,
      implicit: loaded.implicit,
      hideForbidden: true,
      maxBodyBytes: loaded.config.routes.map(() => 1024 * 1024),
    },
    // A TTL of 1 ms: most requests below go to the store, the path that waits.
    cache: new GrantCache(store, { maxEntries: 100, ttlMs: 1, negativeTtlMs: 0 }),
    upstream: forwarder,
    upstreamHost: new URL(upstream.url).host,
    lastUsed: new LastUsedRecorder(store, { flushIntervalMs: 60_000, onError: () => {} }),
    logger: createLogger('silent'),
    metrics,
    retryAfterSeconds: 1,
    trustedProxies: new TrustedProxies([]),
  });
  server = createGatewayServer(gateway, DEFAULT_GATEWAY_SERVER_OPTIONS);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  store.failing = false;
});

afterAll(async () => {
  await client.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await forwarder.close();
  await upstream.close();
});

async function get(path: string, token?: string): Promise<number> {
  const res = await request(base + path, {
    dispatcher: client,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  // The whole body: a response cut short rejects here.
  await res.body.arrayBuffer();
  return res.statusCode;
}

/** Every request ended: the count a drain waits on is back to zero, and idle() resolves. */
async function expectSettled(): Promise<void> {
  expect(gateway.inFlight).toBe(0);
  await gateway.idle();
}

describe('Gateway: every way a request ends settles it exactly once', () => {
  it.each<[string, () => Promise<number>, number]>([
    ['forwarded (public route)', () => get('/status'), 200],
    ['forwarded after a store lookup', () => get('/repos/acme/api/issues/1', liveToken), 200],
    ['no route', () => get('/nowhere', liveToken), 404],
    ['no token', () => get('/repos/acme/api/issues/1'), 401],
    ['malformed token', () => get('/repos/acme/api/issues/1', 'pgt_nope'), 401],
    [
      'unknown token, from the store',
      () => get('/repos/acme/api/issues/1', generateToken('fine_grained')),
      401,
    ],
    ['permission missing', () => get('/repos/acme/api/contents/a.txt', liveToken), 403],
    ['repository outside the token', () => get('/repos/acme/secret/issues/1', liveToken), 404],
    ['classic token on a route', () => get('/repos/acme/api/issues/1', classicToken), 200],
  ])('%s', async (_label, send, status) => {
    expect(await send()).toBe(status);
    await expectSettled();
  });

  it('store unavailable: 503', async () => {
    store.failing = true;
    expect(await get('/repos/acme/api/issues/1', liveToken)).toBe(503);
    await expectSettled();
  });

  it('many at once, half waiting on the store, half not', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? get('/repos/acme/api/issues/1', liveToken) : get('/nowhere'),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 404)).toHaveLength(20);
    await expectSettled();
  });

  it('upstream too slow: 504', async () => {
    expect(await get('/slow/2000')).toBe(504);
    await expectSettled();
  });

  it('upstream cut mid-body: the client connection is cut too', async () => {
    await expect(get('/reset')).rejects.toThrow();
    await expectSettled();
  });

  it('counts a forwarded request until its response is done, then lets idle() resolve', async () => {
    const total = 256 * 1024;
    const seen = upstream.requests.length;
    const response = request(`${base}/big/${total}?hold=65536`, { dispatcher: client });
    await upstream.waitForRequests(seen + 1);
    let idle = false;
    const drained = gateway.idle().then(() => {
      idle = true;
    });
    expect(gateway.inFlight).toBe(1);
    const res = await response;
    expect(res.statusCode).toBe(200);
    // Headers and part of the body are out; the upstream holds the rest.
    expect(idle).toBe(false);
    upstream.release();
    expect((await res.body.arrayBuffer()).byteLength).toBe(total);
    await drained;
    await expectSettled();
  });

  it('client gone mid-body: settles as aborted', async () => {
    const seen = upstream.requests.length;
    const controller = new AbortController();
    const res = await request(`${base}/big/${1024 * 1024}?hold=65536`, {
      dispatcher: client,
      signal: controller.signal,
    });
    await upstream.waitForRequests(seen + 1);
    expect(gateway.inFlight).toBe(1);
    controller.abort();
    await res.body.dump().catch(() => undefined);
    const record = upstream.requests[seen];
    await record?.settled;
    await gateway.idle();
    await expectSettled();
  });
});
