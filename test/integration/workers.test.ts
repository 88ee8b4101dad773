import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, runCli, startGateway, TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { createToken, stackConfig } from '../helpers/stack.js';
import { bigBody, sha256, startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

// `workers: N` (docs/operations.md, "Every core"): one primary, N workers on every listener's port.
// Requests go over a fresh connection each (node:http without an agent): the primary hands
// connections to the workers in turn, so consecutive requests reach different workers. Which
// worker served a request is read from its log lines, each of which names its `pid`.

const MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');
const CONTENTS_PATH = '/repos/acme/api/contents/readme.md';
const CONTENTS_ROUTE = 'GET /repos/{owner}/{repo}/contents/{path+}';
const BIG = 200_000;
const HELD_PATH = `/big/${BIG}?hold=1000`;

let redis: TestRedis;
let upstream: TestUpstream;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [redis, upstream] = await Promise.all([startRedisServer(), startTestUpstream()]);
});

afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

afterAll(async () => {
  await upstream?.close();
  await redis?.stop();
});

function config(extra = 'workers: 2\n'): string {
  return `${stackConfig({ store: 'redis', timeoutMs: 30_000 }, upstream.url, redis.url)}${extra}`;
}

async function start(extra?: string): Promise<GatewayProcess> {
  const gateway = await startGateway(config(extra));
  cleanups.push(() => gateway.stop('SIGKILL'));
  return gateway;
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

/** One request on a connection of its own, read to the end. */
function fresh(
  url: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const req = httpRequest(`${url}${path}`, { agent: false, headers, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** `count` requests one after the other, each on its own connection; their statuses. */
async function statuses(url: string, path: string, count: number, token?: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    out.push((await fresh(url, path, headers)).status);
  }
  return out;
}

function parse(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Waits until log lines naming `tokenId` came from `count` different worker pids; returns them. */
async function pidsServing(gateway: GatewayProcess, tokenId: string, count = 2): Promise<Set<number>> {
  const pids = new Set<number>();
  await gateway.waitForLine((line) => {
    const entry = parse(line);
    if (entry?.token_id === tokenId && typeof entry.pid === 'number') pids.add(entry.pid);
    return pids.size >= count;
  });
  return pids;
}

/** The pids of the workers as the primary announced them, by slot. */
async function workerPids(gateway: GatewayProcess, workers = 2): Promise<Map<number, number>> {
  const bySlot = new Map<number, number>();
  await gateway.waitForLine((line) => {
    const entry = parse(line);
    if (entry?.msg === 'worker listening') bySlot.set(entry.worker as number, entry.pid as number);
    return bySlot.size >= workers;
  });
  return bySlot;
}

async function token(
  gateway: GatewayProcess,
  permissions: Record<string, string>,
): Promise<{ id: string; token: string }> {
  return createToken(gateway.adminUrl, {
    user: 'alice',
    resource_owner: 'acme',
    repositories: 'all',
    permissions,
  });
}

const LABELS = '/repos/acme/api/labels';

/**
 * Checks that no worker routes LABELS yet (404 from each), then adds its route to the config file
 * without telling anyone; returns the file's new text.
 */
async function addLabelsRoute(gateway: GatewayProcess, bearer: string): Promise<string> {
  expect(await statuses(gateway.url, LABELS, 4, bearer)).toEqual([404, 404, 404, 404]);
  const text = readFileSync(gateway.configPath, 'utf8').replace(
    'routes:\n',
    'routes:\n  - route: "GET /repos/{owner}/{repo}/labels"\n    permission: "issues:read"\n',
  );
  await writeFile(gateway.configPath, text);
  return text;
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (k !== undefined && v !== undefined) labels[k] = v;
    }
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

describe('workers: 2', () => {
  it('announces one listening line with the addresses, and both workers serve allowed and refused requests on them', async () => {
    const gateway = await start(
      'workers: 2\ndecision:\n  listen: "127.0.0.1:0"\ntrusted_proxies: ["127.0.0.1"]\n',
    );
    const announced = gateway.output.filter((l) => l.includes('"patgate listening"'));
    expect(announced).toHaveLength(1);
    expect(parse(announced[0] ?? '')).toMatchObject({ workers: 2 });
    // Each worker listened on port 0 and got the primary's one socket, not a port of its own.
    const pids = await workerPids(gateway);
    expect(new Set(pids.values()).size).toBe(2);

    const reader = await token(gateway, { contents: 'read' });
    expect(await statuses(gateway.url, CONTENTS_PATH, 6, reader.token)).toEqual([
      200, 200, 200, 200, 200, 200,
    ]);
    expect(await pidsServing(gateway, reader.id)).toEqual(new Set(pids.values()));

    // Denied (the token sees the repository, so 403, not a hidden 404), by each worker.
    const other = await token(gateway, { issues: 'read' });
    expect(await statuses(gateway.url, CONTENTS_PATH, 6, other.token)).toEqual([
      403, 403, 403, 403, 403, 403,
    ]);
    expect(await pidsServing(gateway, other.id)).toEqual(new Set(pids.values()));

    // The decision listener, shared the same way: answers from both workers, same verdicts.
    const decisionUrl = gateway.decisionUrl ?? '';
    const ask = async (credential: string): Promise<number> =>
      (
        await fresh(decisionUrl, '/nginx', {
          authorization: `Bearer ${credential}`,
          'x-original-method': 'GET',
          'x-original-uri': CONTENTS_PATH,
        })
      ).status;
    const decided = await token(gateway, { contents: 'read' });
    const verdicts: number[] = [];
    for (const credential of [decided, decided, decided, decided, other, other]) {
      verdicts.push(await ask(credential.token));
    }
    expect(verdicts).toEqual([200, 200, 200, 200, 403, 403]);
    expect(await pidsServing(gateway, decided.id)).toEqual(new Set(pids.values()));

    // The admin listener too: every worker answers it (a token created above was created through it).
    expect(await statuses(gateway.adminUrl, '/healthz', 4)).toEqual([200, 200, 200, 200]);
  });

  it('answers /metrics from any worker with the sum over every worker, labelled by none', async () => {
    const gateway = await start();
    const pids = await workerPids(gateway);
    const reader = await token(gateway, { contents: 'read' });
    const before = samples((await fresh(gateway.adminUrl, '/metrics')).body.toString());
    const allowed = (list: Sample[]): number =>
      list
        .filter(
          (s) =>
            s.name === 'patgate_requests_total' &&
            s.labels.route === CONTENTS_ROUTE &&
            s.labels.outcome === 'allowed',
        )
        .reduce((sum, s) => sum + s.value, 0);
    expect(allowed(before)).toBe(0);

    expect(await statuses(gateway.url, CONTENTS_PATH, 10, reader.token)).toEqual(Array(10).fill(200));
    expect(await pidsServing(gateway, reader.id)).toEqual(new Set(pids.values()));

    // Four scrapes, each on its own connection: both workers answer some, all with the total.
    for (let i = 0; i < 4; i++) {
      const answer = await fresh(gateway.adminUrl, '/metrics');
      expect(answer.status).toBe(200);
      const scraped = samples(answer.body.toString());
      expect(allowed(scraped)).toBe(10);
      for (const s of scraped) {
        expect(Object.keys(s.labels), s.name).not.toContain('worker');
        expect(Object.keys(s.labels), s.name).not.toContain('pid');
      }
      // One series per label set, not one per worker.
      const keys = scraped.map((s) => `${s.name}${JSON.stringify(s.labels)}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('replaces a worker killed with SIGKILL, and both keep serving', async () => {
    const gateway = await start();
    const pids = await workerPids(gateway);
    const victim = pids.get(1) ?? 0;
    const survivor = pids.get(2) ?? 0;
    process.kill(victim, 'SIGKILL');

    const death = parse(
      await gateway.waitForLine((l) => parse(l)?.msg === 'worker exited; starting a replacement'),
    );
    expect(death).toMatchObject({ worker: 1, pid: victim, code: null, signal: 'SIGKILL' });
    const replaced = parse(
      await gateway.waitForLine((l) => {
        const entry = parse(l);
        return entry?.msg === 'worker listening' && entry.worker === 1 && entry.pid !== victim;
      }),
    );
    const replacement = replaced?.pid as number;
    expect(gateway.child.exitCode).toBeNull();

    const reader = await token(gateway, { contents: 'read' });
    expect(await statuses(gateway.url, CONTENTS_PATH, 6, reader.token)).toEqual(Array(6).fill(200));
    expect(await pidsServing(gateway, reader.id)).toEqual(new Set([replacement, survivor]));
  });

  it('reloads the route map in every worker on SIGHUP to the primary', async () => {
    const gateway = await start();
    const pids = await workerPids(gateway);
    const reader = await token(gateway, { issues: 'read' });
    await addLabelsRoute(gateway, reader.token);
    gateway.child.kill('SIGHUP');
    const reloaded = new Set<number>();
    await gateway.waitForLine((line) => {
      const entry = parse(line);
      if (entry?.msg === 'route map reloaded') reloaded.add(entry.pid as number);
      return reloaded.size >= 2;
    });
    expect(reloaded).toEqual(new Set(pids.values()));

    expect(await statuses(gateway.url, LABELS, 6, reader.token)).toEqual(Array(6).fill(200));
    expect(await pidsServing(gateway, reader.id)).toEqual(new Set(pids.values()));
  });

  it('reloads the route map in every worker on POST /v1/admin/reload to any of them', async () => {
    const gateway = await start();
    const pids = await workerPids(gateway);
    const reader = await token(gateway, { issues: 'read' });
    const text = await addLabelsRoute(gateway, reader.token);
    const answer = await fresh(
      gateway.adminUrl,
      '/v1/admin/reload',
      {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
      },
      'POST',
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({
      routes: { added: ['GET /repos/{owner}/{repo}/labels'], removed: [], changed: [] },
      restart_required: [],
    });
    // Both workers had reloaded when the call answered: no wait for a log line first.
    expect(await statuses(gateway.url, LABELS, 6, reader.token)).toEqual(Array(6).fill(200));
    expect(await pidsServing(gateway, reader.id)).toEqual(new Set(pids.values()));
    const reloaded = new Set(
      gateway.output.flatMap((line) => {
        const entry = parse(line);
        return entry?.msg === 'route map reloaded' ? [entry.pid as number] : [];
      }),
    );
    expect(reloaded).toEqual(new Set(pids.values()));

    // A file that does not load: 422 from whichever worker answers, and no worker changes its map.
    await writeFile(
      gateway.configPath,
      text.replace('permission: "issues:read"', 'permission: "issues:reed"'),
    );
    const refused = await fresh(
      gateway.adminUrl,
      '/v1/admin/reload',
      {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
      },
      'POST',
    );
    expect(refused.status).toBe(422);
    const problem = JSON.parse(refused.body.toString()) as { type: string; errors: string[] };
    expect(problem.type).toMatch(/\/reload_refused$/);
    expect(problem.errors.join('\n')).toMatch(/"reed" is not a level/);
    expect(await statuses(gateway.url, LABELS, 4, reader.token)).toEqual([200, 200, 200, 200]);
  });

  it('drains the requests in flight in every worker on SIGTERM, then exits 0', async () => {
    const gateway = await start();
    const pids = await workerPids(gateway);
    const reader = await token(gateway, { contents: 'read' });
    const before = upstream.requests.length;
    const inFlight = [held(gateway.url, reader.token), held(gateway.url, reader.token)];
    expect(await Promise.all(inFlight.map((r) => r.headers))).toEqual([200, 200]);
    await upstream.waitForRequests(before + 2);

    const exited = gateway.stop('SIGTERM');
    await gateway.waitForLine((l) => parse(l)?.msg === 'shutting down: draining every worker');
    const draining = new Set<number>();
    await gateway.waitForLine((line) => {
      const entry = parse(line);
      if (entry?.msg === 'shutting down: draining in-flight requests') draining.add(entry.pid as number);
      return draining.size >= 2;
    });
    expect(draining).toEqual(new Set(pids.values()));
    const ready = await fresh(gateway.adminUrl, '/readyz');
    expect(ready.status).toBe(503);
    expect(gateway.child.exitCode).toBeNull();

    upstream.release();
    for (const request of inFlight) {
      const answer = await request.done;
      expect(answer.status).toBe(200);
      expect(sha256(answer.body)).toBe(sha256(bigBody(BIG)));
    }
    expect(await exited).toBe(0);
    // The two were in flight in different workers (each request's log line names its worker).
    expect(await pidsServing(gateway, reader.id)).toEqual(new Set(pids.values()));
    expect(gateway.output.some((l) => parse(l)?.msg === 'stopped' && parse(l)?.pid === undefined)).toBe(true);
  });

  it('gives each worker the node flags the primary was started with', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'patgate-workers-'));
    const path = join(dir, 'patgate.yaml');
    await writeFile(path, config());
    const flags = ['--single-threaded-gc', '--no-memory-reducer'];
    const child = spawn(process.execPath, [...flags, MAIN, 'serve', '--config', path], {
      env: { PATH: process.env.PATH ?? '', PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const workers: number[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      const entry = parse(line);
      if (entry?.msg === 'worker listening') workers.push(entry.pid as number);
      if (entry?.msg === 'patgate listening') break;
    }
    expect(workers).toHaveLength(2);
    for (const pid of workers) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 3)).toEqual(flags);
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('workers: startup refusals', () => {
  it('refuses the in-memory store with one line naming workers and store.redis_url', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'patgate-workers-'));
    const path = join(dir, 'patgate.yaml');
    await writeFile(path, `${stackConfig({ store: 'memory' }, upstream.url, undefined)}workers: 2\n`);
    const { code, stdout, stderr } = await runCli(['serve', '--config', path], {
      PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    });
    expect(code).toBe(2);
    expect(stderr).toBe(
      'patgate: workers: 2 needs store.redis_url (or PATGATE_REDIS_URL): the in-memory store cannot be shared across workers\n',
    );
    expect(stdout).not.toContain('listening');
  });

  it('says a busy port once, in one line, and exits 2', async () => {
    const busy: Server = createServer();
    await new Promise<void>((res) => busy.listen(0, '127.0.0.1', res));
    cleanups.push(() => new Promise((res) => busy.close(res)));
    const { port } = busy.address() as { port: number };
    const dir = await mkdtemp(join(tmpdir(), 'patgate-workers-'));
    const path = join(dir, 'patgate.yaml');
    await writeFile(path, config().replace('listen: "127.0.0.1:0"', `listen: "127.0.0.1:${port}"`));
    const { code, stdout, stderr } = await runCli(['serve', '--config', path], {
      PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    });
    expect(code).toBe(2);
    expect(stderr).toBe(`patgate: listen 127.0.0.1:${port}: address already in use\n`);
    expect(stdout).not.toContain('listening');
  });

  it('runs one worker per CPU with workers: auto', async () => {
    const gateway = await start('workers: auto\n');
    const announced = parse(gateway.output.find((l) => l.includes('"patgate listening"')) ?? '');
    const cpus = availableParallelism();
    // One CPU: one process, as with workers: 1 (no primary, no workers field).
    expect(announced?.workers).toBe(cpus > 1 ? cpus : undefined);
  });
});

interface Held {
  readonly headers: Promise<number>;
  readonly done: Promise<Answer>;
}

/** A request for the upstream's held response, on its own connection. */
function held(url: string, bearer: string): Held {
  let onHeaders: (status: number) => void = () => {};
  const headers = new Promise<number>((res) => {
    onHeaders = res;
  });
  const done = new Promise<Answer>((resolveAnswer, reject) => {
    const req = httpRequest(`${url}${HELD_PATH}`, {
      agent: false,
      headers: { authorization: `Bearer ${bearer}` },
    });
    req.on('response', (res) => {
      onHeaders(res.statusCode ?? 0);
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  // Awaited by the test; a test that fails first must not leave it unhandled.
  done.catch(() => {});
  return { headers, done };
}
