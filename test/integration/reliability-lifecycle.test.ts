import { writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { call, createToken, type Stack, stackConfig } from '../helpers/stack.js';
import { bigBody, sha256, startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

const BIG = 200_000;
const HELD_AT = 1_000;
const HELD_PATH = `/big/${BIG}?hold=${HELD_AT}`;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

async function stack(configEdit: (text: string) => string = (t) => t): Promise<Stack> {
  const upstream = await startTestUpstream();
  const configText = configEdit(stackConfig({ store: 'memory', timeoutMs: 30_000 }, upstream.url, undefined));
  const gateway = await startGateway(configText);
  cleanups.push(async () => {
    await gateway.stop('SIGKILL');
    await upstream.close();
  });
  return {
    gateway,
    upstream,
    redis: undefined,
    configText,
    close: async () => {},
  };
}

async function reader(gateway: GatewayProcess): Promise<string> {
  const created = await createToken(gateway.adminUrl, {
    user: 'alice',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { contents: 'read' },
  });
  return created.token;
}

interface RawAnswer {
  readonly status: number;
  readonly body: Buffer;
  /** The response ended before Content-Length bytes arrived. */
  readonly cut: boolean;
}

/** One request on its own connection (no keep-alive pool), read to the end or the cut. */
function rawGet(
  baseUrl: string,
  path: string,
  token: string,
): { headers: Promise<number>; done: Promise<RawAnswer> } {
  let onHeaders: (status: number) => void = () => {};
  const headers = new Promise<number>((resolve) => {
    onHeaders = resolve;
  });
  const done = new Promise<RawAnswer>((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, {
      agent: false,
      headers: { authorization: `Bearer ${token}` },
    });
    req.on('response', (res) => {
      onHeaders(res.statusCode ?? 0);
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const finish = (): void => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          body,
          cut: body.length !== Number(res.headers['content-length'] ?? body.length),
        });
      };
      res.on('end', finish);
      res.on('aborted', finish);
      res.on('error', finish);
    });
    req.on('error', reject);
    req.end();
  });
  return { headers, done };
}

/** Resolves once a TCP connection is accepted; rejects with the socket error (ECONNREFUSED). */
function connectOnce(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/** The error of the first connection refused, trying for at most 2 s. */
async function refusedSoon(url: string): Promise<unknown> {
  for (const deadline = Date.now() + 2_000; Date.now() < deadline; ) {
    const error = await connectOnce(url).then(
      () => null,
      (e: unknown) => e,
    );
    if (error !== null) return error;
  }
  return new Error('still accepting connections 2 s after shutting down');
}

describe('SIGTERM', () => {
  it('stops accepting, finishes the request in flight with 200, leaves the rotation, exits 0', async () => {
    const { gateway, upstream } = await stack();
    const token = await reader(gateway);
    const before = upstream.requests.length;
    const inFlight = rawGet(gateway.url, HELD_PATH, token);
    expect(await inFlight.headers).toBe(200);
    await upstream.waitForRequests(before + 1);

    const exited = gateway.stop('SIGTERM');
    await gateway.waitForLine((l) => l.includes('shutting down'));
    // The listening socket is closed at the end of the event-loop turn that logged the line:
    // a connection may still slip in just before it. New connections are refused at once after.
    await expect(refusedSoon(gateway.url)).resolves.toMatchObject({ code: 'ECONNREFUSED' });
    const ready = await fetch(`${gateway.adminUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    expect(gateway.child.exitCode).toBeNull();

    upstream.release();
    const answer = await inFlight.done;
    expect(answer.status).toBe(200);
    expect(answer.cut).toBe(false);
    expect(sha256(answer.body)).toBe(sha256(bigBody(BIG)));
    expect(await exited).toBe(0);
  });

  it('cuts what is still running when shutdown_grace_ms is over, and still exits 0', async () => {
    const graceMs = 1000;
    const { gateway, upstream } = await stack((t) =>
      t.replace('shutdown_grace_ms: 3000', `shutdown_grace_ms: ${graceMs}`),
    );
    const token = await reader(gateway);
    const inFlight = rawGet(gateway.url, HELD_PATH, token);
    expect(await inFlight.headers).toBe(200);

    const signalled = performance.now();
    const code = await gateway.stop('SIGTERM');
    const took = performance.now() - signalled;
    expect(code).toBe(0);
    expect(took).toBeGreaterThanOrEqual(graceMs - 50);
    expect(took).toBeLessThan(graceMs + 4000);
    const answer = await inFlight.done;
    expect(answer.cut).toBe(true);
    expect(answer.body.length).toBe(HELD_AT);
    await gateway.waitForLine((l) => l.includes('grace period over'));
    // The upstream request was abandoned too, not left holding a connection.
    const recorded = upstream.requests.at(-1);
    expect((await recorded?.settled)?.outcome).toBe('aborted');
  });
});

describe('SIGHUP', () => {
  const addRoute = (text: string, route = '"GET /reloaded/{id}"', permission = '"contents:read"'): string =>
    text.replace('routes:\n', `routes:\n  - route: ${route}\n    permission: ${permission}\n`);

  it('swaps the route map atomically under traffic; a broken file keeps the old map and logs why', async () => {
    const { gateway, configText } = await stack();
    const token = await reader(gateway);
    expect((await call(gateway.url, 'GET', '/reloaded/1', { token })).status).toBe(404);

    // Traffic through the reloads: every answer is the old map's or the new map's, never a failure.
    let stop = false;
    const statuses = new Map<string, Set<number>>();
    const traffic = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        const path = worker % 2 === 0 ? '/reloaded/1' : '/repos/acme/api/contents/a.md';
        while (!stop) {
          const { status } = await call(gateway.url, 'GET', path, { token });
          let seen = statuses.get(path);
          if (seen === undefined) {
            seen = new Set();
            statuses.set(path, seen);
          }
          seen.add(status);
        }
      }),
    );

    try {
      await writeFile(gateway.configPath, addRoute(configText));
      gateway.child.kill('SIGHUP');
      await gateway.waitForLine((l) => l.includes('"route map reloaded"'));
      expect((await call(gateway.url, 'GET', '/reloaded/1', { token })).status).toBe(200);

      await writeFile(gateway.configPath, addRoute(addRoute(configText), '"GET /x"', '"nope:read"'));
      gateway.child.kill('SIGHUP');
      const refused = await gateway.waitForLine((l) => l.includes('route reload refused'));
      expect(refused).toMatch(/nope/);
    } finally {
      stop = true;
      await traffic;
    }

    expect((await call(gateway.url, 'GET', '/reloaded/1', { token })).status).toBe(200);
    expect(statuses.get('/repos/acme/api/contents/a.md')).toEqual(new Set([200]));
    expect([...(statuses.get('/reloaded/1') ?? [])].every((s) => s === 404 || s === 200)).toBe(true);

    const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^patgate_route_reloads_total\{result="ok"\} 1$/m);
    expect(metrics).toMatch(/^patgate_route_reloads_total\{result="refused"\} 1$/m);
  });

  it('says which changed keys it did not apply (they need a restart)', async () => {
    const { gateway, configText } = await stack();
    await writeFile(gateway.configPath, configText.replace('ttl_ms: 60000', 'ttl_ms: 5000'));
    gateway.child.kill('SIGHUP');
    const warning = await gateway.waitForLine((l) => l.includes('need a restart'));
    expect(JSON.parse(warning)).toMatchObject({ keys: ['cache'] });
    await gateway.waitForLine((l) => l.includes('"route map reloaded"'));
  });
});

describe('health endpoints', () => {
  let upstream: TestUpstream;

  it('/healthz answers while the process runs; /readyz when the store answers', async () => {
    upstream = await startTestUpstream();
    const gateway = await startGateway(stackConfig({ store: 'memory' }, upstream.url, undefined));
    cleanups.push(async () => {
      await gateway.stop();
      await upstream.close();
    });
    const health = await fetch(`${gateway.adminUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gateway.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
