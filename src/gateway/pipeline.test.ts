import type { Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classic, fineGrained } from '../../test/contract/token-fixtures.js';
import { startTestUpstream, type TestUpstream } from '../../test/helpers/upstream.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Upstream } from '../proxy/upstream.js';
import { loadConfigText } from '../routes/load-config.js';
import { GrantCache } from '../store/cached-grant-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { GrantSnapshot } from '../store/grant-store.js';
import { MemoryGrantStore } from '../store/memory-store.js';
import { generateToken, hashToken } from '../tokens/format.js';
import { BodyBudget, UpstreamShares } from './body-budget.js';
import { LastUsedRecorder } from './last-used.js';
import { Gateway } from './pipeline.js';
import { createGatewayServer, DEFAULT_GATEWAY_SERVER_OPTIONS } from './server.js';

/** A memory store whose lookups can be made to fail, as Redis does when down, or to wait. */
class FlakyStore extends MemoryGrantStore {
  failing = false;
  /** While set, lookups wait for it. */
  held: Promise<void> | null = null;
  lookupsStarted = 0;
  override async lookup(tokenHash: string, owner: string): Promise<GrantSnapshot | null> {
    this.lookupsStarted++;
    if (this.held !== null) await this.held;
    if (this.failing) throw new StoreUnavailableError({ cause: new Error('down') });
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
  - route: "POST /repos/{owner}/{repo}/issues/{number}/reactions"
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
  - route: "POST /upload/{name}"
    public: true
    max_body_bytes: 4096
`;

const TTL_MS = 60_000;
/** The cache's clock: moved past the TTL to send the next request to the store. */
let clockMs = 1_000;

let upstream: TestUpstream;
let forwarder: Upstream;
let store: FlakyStore;
let cache: GrantCache;
let metrics: Metrics;
let gateway: Gateway;
let server: Server;
let base: string;
const serverSockets: Socket[] = [];
const client = new Agent({ connections: 8 });
let liveToken: string;
let budget: BodyBudget;
const leakReports: string[] = [];
let shares: UpstreamShares;
/** Two buffered bodies of the largest size fit; a third waits on the budget. */
const BUDGET_BYTES = 4096;
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
  metrics = new Metrics({ defaultMetrics: false });
  // 300 ms: `/slow/{ms}` past it is a 504.
  forwarder = new Upstream({ url: upstream.url, timeoutMs: 300, connectTimeoutMs: 1_000, connections: 8 });
  cache = new GrantCache(store, {
    maxEntries: 100,
    ttlMs: TTL_MS,
    negativeTtlMs: TTL_MS,
    clock: { now: () => clockMs },
  });
  budget = new BodyBudget(BUDGET_BYTES);
  shares = new UpstreamShares(64);
  gateway = new Gateway({
    routes: { matcher: loaded.matcher, implicit: loaded.implicit, hideForbidden: true },
    cache,
    upstream: forwarder,
    lastUsed: new LastUsedRecorder(store, { flushIntervalMs: 60_000, onError: () => {} }),
    logger: createLogger('silent'),
    metrics,
    bodies: { bufferBytes: 2048, minBytesPerSecond: 0, rateGraceMs: 0, budget },
    shares,
    basePath: null,
    dialect: 'patgate',
    assertion: null,
    leakReports: async (body) => {
      leakReports.push(body.toString());
      return { status: 202, headers: { 'content-type': 'application/json' }, body: '{}' };
    },
  });
  server = createGatewayServer(gateway, DEFAULT_GATEWAY_SERVER_OPTIONS);
  server.on('connection', (socket: Socket) => serverSockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  store.failing = false;
  store.held = null;
});

afterAll(async () => {
  await client.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await forwarder.close();
  await upstream.close();
});

async function send(path: string, token?: string, method = 'GET'): Promise<number> {
  const res = await request(base + path, {
    dispatcher: client,
    method,
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
  // What requests held is given back with them.
  expect(budget.used).toBe(0);
  expect(shares.heldBy('127.0.0.1')).toBe(0);
}

async function upload(body: string | (() => AsyncGenerator<string>), signal?: AbortSignal): Promise<number> {
  const res = await request(`${base}/upload/a`, {
    dispatcher: client,
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: typeof body === 'string' ? body : Readable.from(body()),
    ...(signal === undefined ? {} : { signal }),
  });
  await res.body.arrayBuffer();
  return res.statusCode;
}

/** What the cache answered since `before`: a store lookup, or an entry (positive or negative). */
function cacheDelta(before: { misses: number; hits: number; negativeHits: number }) {
  return {
    misses: cache.stats.misses - before.misses,
    hits: cache.stats.hits + cache.stats.negativeHits - before.hits - before.negativeHits,
  };
}

async function requestsCounted(outcome: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString('patgate_requests_total');
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.includes(`outcome="${outcome}"`)) total += Number(line.split(' ').pop());
  }
  return total;
}

describe('Gateway: every way a request ends settles it exactly once', () => {
  it.each<[string, () => Promise<number>, number]>([
    ['forwarded (public route)', () => send('/status'), 200],
    ['no route', () => send('/nowhere', liveToken), 404],
    ['no token', () => send('/repos/acme/api/issues/1'), 401],
    ['malformed token', () => send('/repos/acme/api/issues/1', 'pgt_nope'), 401],
  ])('%s (before any grant lookup)', async (_label, sendIt, status) => {
    const before = { ...cache.stats };
    expect(await sendIt()).toBe(status);
    expect(cacheDelta(before)).toEqual({ misses: 0, hits: 0 });
    await expectSettled();
  });

  const unknownToken = generateToken('fine_grained');
  it.each<[string, () => Promise<number>, number]>([
    ['forwarded', () => send('/repos/acme/api/issues/1', liveToken), 200],
    ['unknown token', () => send('/repos/acme/api/issues/1', unknownToken), 401],
    ['permission missing', () => send('/repos/acme/api/contents/a.txt', liveToken), 403],
    ['repository outside the token', () => send('/repos/acme/secret/issues/1', liveToken), 404],
    ['classic token', () => send('/repos/acme/api/issues/1', classicToken), 200],
  ])('%s: from the store, then from the cache', async (_label, sendIt, status) => {
    clockMs += 2 * TTL_MS;
    let before = { ...cache.stats };
    expect(await sendIt()).toBe(status);
    expect(cacheDelta(before)).toEqual({ misses: 1, hits: 0 });
    await expectSettled();

    before = { ...cache.stats };
    expect(await sendIt()).toBe(status);
    expect(cacheDelta(before)).toEqual({ misses: 0, hits: 1 });
    await expectSettled();
  });

  it('store unavailable: 503', async () => {
    clockMs += 2 * TTL_MS;
    store.failing = true;
    expect(await send('/repos/acme/api/issues/1', liveToken)).toBe(503);
    await expectSettled();
  });

  it('many at once, half waiting on the store, half not', async () => {
    clockMs += 2 * TTL_MS;
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? send('/repos/acme/api/issues/1', liveToken) : send('/nowhere'),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 404)).toHaveLength(20);
    await expectSettled();
  });

  it.each<[string, string | (() => AsyncGenerator<string>), number]>([
    ['buffered body', 'x'.repeat(1000), 200],
    [
      'chunked body past the buffer, streamed',
      async function* () {
        for (let i = 0; i < 3; i++) yield 'y'.repeat(1000);
      },
      200,
    ],
    ['declared body over the route limit', 'z'.repeat(5000), 413],
    [
      'chunked body over the route limit',
      async function* () {
        for (let i = 0; i < 5; i++) yield 'w'.repeat(1000);
      },
      413,
    ],
  ])('%s', async (_label, body, status) => {
    const seen = upstream.requests.length;
    expect(await upload(body)).toBe(status);
    if (status === 200) {
      await upstream.requests[seen]?.settled;
      expect(upstream.requests[seen]?.bodyLength).toBe(typeof body === 'string' ? body.length : 3000);
    } else {
      expect(upstream.requests.length).toBe(seen);
    }
    await expectSettled();
  });

  it('body budget spent: 503, nothing forwarded', async () => {
    expect(budget.tryTake(BUDGET_BYTES)).toBe(true);
    try {
      const seen = upstream.requests.length;
      expect(await upload('x'.repeat(100))).toBe(503);
      expect(upstream.requests.length).toBe(seen);
    } finally {
      budget.give(BUDGET_BYTES);
    }
    await expectSettled();
  });

  it('client gone while its body is read: settles, counted as aborted, nothing forwarded', async () => {
    const abortedBefore = await requestsCounted('aborted');
    const seen = upstream.requests.length;
    const controller = new AbortController();
    let sentFirst = (): void => {};
    const first = new Promise<void>((resolve) => {
      sentFirst = resolve;
    });
    const sent = upload(async function* () {
      yield 'a'.repeat(100);
      sentFirst();
      await new Promise(() => {});
    }, controller.signal).catch(() => undefined);
    await first;
    await waitUntil(() => gateway.inFlight === 1 && budget.used === 100);
    controller.abort();
    await sent;
    await gateway.idle();
    await expectSettled();
    expect(upstream.requests.length).toBe(seen);
    expect(await requestsCounted('aborted')).toBe(abortedBefore + 1);
  });

  it('upstream too slow: 504', async () => {
    expect(await send('/slow/2000')).toBe(504);
    await expectSettled();
  });

  it('upstream cut mid-body: the client connection is cut too', async () => {
    await expect(send('/reset')).rejects.toThrow();
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

  it('client gone mid-body: settles, counted as aborted', async () => {
    const abortedBefore = await requestsCounted('aborted');
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
    await upstream.requests[seen]?.settled;
    await gateway.idle();
    await expectSettled();
    expect(await requestsCounted('aborted')).toBe(abortedBefore + 1);
  });

  // Regression: a request allowed after its client had left was forwarded into a closed
  // response, whose 'close' had already fired; an answer without a body then never settled it,
  // and a drain waited out its whole grace period.
  it.each(['HEAD', 'GET'])(
    'client gone while its grants are read (%s): settles, nothing forwarded',
    async (method) => {
      clockMs += 2 * TTL_MS;
      const abortedBefore = await requestsCounted('aborted');
      const forwardedBefore = upstream.requests.length;
      let release = (): void => {};
      store.held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const lookupsBefore = store.lookupsStarted;
      const socketsBefore = serverSockets.length;
      const controller = new AbortController();
      const sent = request(`${base}/repos/acme/api/issues/1`, {
        // Its own connection, so that the server-side socket is the one this request came on.
        dispatcher: new Agent({ connections: 1 }),
        method,
        headers: { authorization: `Bearer ${liveToken}` },
        signal: controller.signal,
      }).catch(() => undefined);
      await waitUntil(() => store.lookupsStarted > lookupsBefore);
      const socket = serverSockets[socketsBefore];
      if (socket === undefined) throw new Error('the request came on no new connection');
      const closed = new Promise((resolve) => socket.once('close', resolve));
      controller.abort();
      await sent;
      await closed;
      expect(gateway.inFlight).toBe(1);
      release();
      await gateway.idle();
      await expectSettled();
      expect(upstream.requests.length).toBe(forwardedBefore);
      expect(await requestsCounted('aborted')).toBe(abortedBefore + 1);
    },
  );
});

describe('Gateway: what a request holds is given back however it ends', () => {
  // Regression: a request with a body whose client left during a store lookup was never
  // settled: its intake listened on a request that had already closed.
  it('client gone while the grants of a request with a body are read: settles, gives back its share', async () => {
    clockMs += 2 * TTL_MS;
    let release = (): void => {};
    store.held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const lookupsBefore = store.lookupsStarted;
    const socketsBefore = serverSockets.length;
    const forwardedBefore = upstream.requests.length;
    const controller = new AbortController();
    const sent = request(`${base}/repos/acme/api/issues/1/reactions`, {
      dispatcher: new Agent({ connections: 1 }),
      method: 'POST',
      headers: { authorization: `Bearer ${liveToken}`, 'content-type': 'application/json' },
      body: '{"content":"+1"}',
      signal: controller.signal,
    }).catch(() => undefined);
    await waitUntil(() => store.lookupsStarted > lookupsBefore);
    const socket = serverSockets[socketsBefore];
    if (socket === undefined) throw new Error('the request came on no new connection');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    controller.abort();
    await sent;
    await closed;
    release();
    await gateway.idle();
    await expectSettled();
    expect(upstream.requests.length).toBe(forwardedBefore);
  });

  // Regression: a declared body reserved its whole length from the budget before a byte came,
  // so idle connections could hold all of it and refuse everyone else's bodies.
  it('a declared body takes memory only as its bytes arrive', async () => {
    const socket = await new Promise<Socket>((resolve) => {
      const s = connect(Number(new URL(base).port), '127.0.0.1', () => resolve(s));
    });
    try {
      const seen = upstream.requests.length;
      socket.write('POST /upload/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1500\r\n\r\nabc');
      await waitUntil(() => budget.used === 3);
      expect(upstream.requests.length).toBe(seen);
    } finally {
      socket.destroy();
    }
    await waitUntil(() => gateway.inFlight === 0);
    await expectSettled();
  });

  it('a leak report is read whole and handed over; a report cut short settles', async () => {
    const res = await request(`${base}/_patgate/credentials/revoke`, {
      dispatcher: client,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"credentials":[]}',
    });
    await res.body.dump();
    expect(res.statusCode).toBe(202);
    expect(leakReports.at(-1)).toBe('{"credentials":[]}');
    const socket = await new Promise<Socket>((resolve) => {
      const s = connect(Number(new URL(base).port), '127.0.0.1', () => resolve(s));
    });
    socket.write(
      'POST /_patgate/credentials/revoke HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"cred',
    );
    await waitUntil(() => budget.used > 0);
    socket.destroy();
    await waitUntil(() => gateway.inFlight === 0);
    await expectSettled();
  });
});

/** Resolves once `done()` holds, checking after each turn of the event loop (no timers). */
async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}
