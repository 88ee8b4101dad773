#!/usr/bin/env node
// Soak test: mixed traffic through two gateway instances sharing one Redis while
// that Redis is paused (SIGSTOP) and killed (SIGKILL, then restarted from its
// append-only file). Reports wrongful allows (must be 0), answers and errors by
// kind, and the memory growth of each gateway. Bounded in time; not part of `npm test`.
//
//   npm run soak                       # 60 s
//   npm run soak -- --seconds 300 --concurrency 64
//
// Needs `redis-server` on the PATH and a build (`npm run soak` builds first).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist/src/main.js');
const { generateToken } = await import(join(ROOT, 'dist/src/tokens/format.js'));

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '32' },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
if (!(SECONDS > 0) || !(CONCURRENCY > 0)) {
  console.error('usage: soak.mjs [--seconds N] [--concurrency N]');
  process.exit(2);
}

const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef';
const PATH = '/repos/acme/api/contents/readme.md';
// The documented bound: a revocation is refused by every instance within 1 s.
const PROPAGATION_BOUND_MS = 1000;
const COMMAND_TIMEOUT_MS = 300;
const CACHE_TTL_MS = 5000;
const VALID_POOL = 40;
const FORBIDDEN_POOL = 10;
const UNKNOWN_POOL = 200;
const REQUEST_TIMEOUT_MS = 10_000;

// Faults, as fractions of the run: [start, kind, duration in ms].
const FAULTS = [
  [0.2, 'pause', 3000],
  [0.45, 'kill', 2000],
  [0.7, 'pause', 3000],
  [0.85, 'kill', 2000],
];

const children = new Set();
const dir = await mkdtemp(join(tmpdir(), 'patgate-soak-'));
let cleanedUp = false;

async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

// --- processes ------------------------------------------------------------

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function answersPing(port) {
  return new Promise((resolvePing) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

class RedisProcess {
  constructor(port) {
    this.port = port;
    this.child = null;
  }

  async start() {
    // Every write is on disk before it is acknowledged, so a SIGKILL loses nothing
    // an admin call was told had happened.
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''].concat([
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ]),
      { stdio: 'ignore' },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(this.port))) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await delay(20);
    }
  }

  pause() {
    this.child.kill('SIGSTOP');
  }

  resume() {
    this.child.kill('SIGCONT');
  }

  async kill() {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

async function startGateway(name, configPath) {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '', PATGATE_ADMIN_TOKEN: ADMIN_TOKEN, PATGATE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const logs = { warn: 0, error: 0, fatal: 0, lines: [] };
  const listening = new Promise((resolveInfo, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway ${name} exited (${code})`)));
    const onLine = (line) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        logs.lines.push(line);
        return;
      }
      if (entry.level >= 60) logs.fatal++;
      else if (entry.level >= 50) logs.error++;
      else if (entry.level >= 40) logs.warn++;
      if (entry.level >= 50 && logs.lines.length < 20) logs.lines.push(line);
      if (entry.msg === 'patgate listening') resolveInfo(entry);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
  });
  const info = await listening;
  return {
    name,
    child,
    logs,
    url: `http://${info.gateway}`,
    adminUrl: `http://${info.admin}`,
    pool: new Pool(`http://${info.gateway}`, {
      connections: CONCURRENCY,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    }),
  };
}

async function rssOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

async function adminCall(gateway, method, path, body) {
  const res = await request(`${gateway.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? {} : JSON.parse(text) };
}

async function scrape(gateway) {
  const res = await request(`${gateway.adminUrl}/metrics`);
  const text = await res.body.text();
  const pick = (series) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  };
  return {
    store_timeouts: pick('patgate_store_command_failures_total{kind="timeout"}'),
    store_unavailable: pick('patgate_store_command_failures_total{kind="unavailable"}'),
    cache_fallbacks: pick('patgate_cache_lookups_total{result="fallback"}'),
    resyncs: pick('patgate_invalidations_total{kind="all"}'),
    invalidation_lag_count: pick('patgate_invalidation_lag_seconds_count'),
    invalidation_lag_sum_s: pick('patgate_invalidation_lag_seconds_sum'),
    heap_used_bytes: pick('patgate_nodejs_heap_size_used_bytes'),
  };
}

// --- the model of what each token may do ----------------------------------

/** token -> { kind: 'valid' | 'revoked' | 'forbidden' | 'unknown' | 'uncertain', id?, revokedAt? } */
const tokens = new Map();
const pools = { valid: [], revoked: [], forbidden: [], unknown: [] };

function remove(list, token) {
  const at = list.indexOf(token);
  if (at >= 0) list.splice(at, 1);
}

async function createReader(gateway, permissions) {
  const answer = await adminCall(gateway, 'POST', '/v1/tokens', {
    kind: 'fine_grained',
    user: 'alice',
    name: 'soak',
    resource_owner: 'acme',
    repositories: 'all',
    permissions,
    expires_in_days: 7,
  });
  if (answer.status !== 201) throw new Error(`token create: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

// --- run --------------------------------------------------------------------

const stats = {
  requests: 0,
  wrongfulAllows: [],
  allowedInPropagationWindow: 0,
  unexpectedRefusals: {},
  byKind: {},
  errors: {},
  revocations: { acknowledged: 0, failed: 0 },
  created: { ok: 0, failed: 0 },
  latencyMs: [],
};

function count(table, key) {
  table[key] = (table[key] ?? 0) + 1;
}

async function main() {
  const redis = new RedisProcess(await freePort());
  await redis.start();

  const upstream = createServer((req, res) => {
    const body = JSON.stringify({ token_id: req.headers['x-patgate-token-id'] ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));

  const configPath = join(dir, 'patgate.yaml');
  await writeFile(
    configPath,
    `listen: "127.0.0.1:0"
upstream:
  url: "http://127.0.0.1:${upstream.address().port}"
  timeout_ms: 5000
admin:
  listen: "127.0.0.1:0"
store:
  redis_url: "redis://127.0.0.1:${redis.port}"
  key_prefix: "soak:"
  command_timeout_ms: ${COMMAND_TIMEOUT_MS}
cache:
  ttl_ms: ${CACHE_TTL_MS}
  negative_ttl_ms: 1000
shutdown_grace_ms: 2000
features:
  metadata: [read]
  contents: [read, write]
  issues: [read, write]
routes:
  - route: "GET /repos/{owner}/{repo}/contents/{path+}"
    permission: "contents:read"
implicit: ["metadata:read"]
`,
  );
  const gateways = [await startGateway('A', configPath), await startGateway('B', configPath)];
  const [a] = gateways;

  for (let i = 0; i < VALID_POOL; i++) {
    const t = await createReader(a, { contents: 'read' });
    tokens.set(t.token, { kind: 'valid', id: t.id });
    pools.valid.push(t.token);
  }
  for (let i = 0; i < FORBIDDEN_POOL; i++) {
    const t = await createReader(a, { issues: 'read' });
    tokens.set(t.token, { kind: 'forbidden', id: t.id });
    pools.forbidden.push(t.token);
  }
  for (let i = 0; i < UNKNOWN_POOL; i++) {
    const t = generateToken('fine_grained');
    tokens.set(t, { kind: 'unknown' });
    pools.unknown.push(t);
  }

  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  let running = true;

  const worker = async () => {
    while (running && performance.now() < deadline) {
      const gateway = pick(gateways);
      const roll = Math.random();
      const pool =
        roll < 0.6 || pools.revoked.length === 0
          ? pools.valid
          : roll < 0.75
            ? pools.revoked
            : roll < 0.9
              ? pools.unknown
              : pools.forbidden;
      const token = pick(pool);
      if (token === undefined) continue;
      const model = tokens.get(token);
      const kind = model.kind;
      const revokedAt = model.revokedAt;
      const t0 = performance.now();
      let status;
      try {
        const res = await gateway.pool.request({
          path: PATH,
          method: 'GET',
          headers: { authorization: `Bearer ${token}` },
        });
        await res.body.text();
        status = res.statusCode;
      } catch (err) {
        count(stats.errors, err.code ?? err.name ?? 'error');
        continue;
      }
      stats.requests++;
      stats.latencyMs.push(performance.now() - t0);
      count(stats.byKind, `${kind} -> ${status}`);
      if (status === 200) {
        if (kind === 'unknown' || kind === 'forbidden') {
          stats.wrongfulAllows.push({ kind, gateway: gateway.name, at: Math.round(t0 - started) });
        } else if (kind === 'revoked') {
          // Judged by the state when the request started: later than the bound is wrong.
          if (t0 > revokedAt + PROPAGATION_BOUND_MS) {
            stats.wrongfulAllows.push({
              kind,
              gateway: gateway.name,
              at: Math.round(t0 - started),
              ms_after_revocation: Math.round(t0 - revokedAt),
            });
          } else {
            stats.allowedInPropagationWindow++;
          }
        }
      } else if (status !== 503) {
        const expected = { valid: [], revoked: [401], unknown: [401], forbidden: [403], uncertain: [401] }[
          kind
        ];
        if (!expected.includes(status) && kind !== 'uncertain')
          count(stats.unexpectedRefusals, `${kind} -> ${status}`);
      }
    }
  };

  // Revokes one valid token every ~1.5 s through a random instance, and replaces it.
  const revoker = async () => {
    const retry = [];
    while (running && performance.now() < deadline - 2000) {
      await delay(1500);
      const token = retry.shift() ?? (pools.valid.length > 10 ? pick(pools.valid) : undefined);
      if (token === undefined) continue;
      const model = tokens.get(token);
      // Out of the valid pool before the call: from here on an allow is no longer "expected".
      remove(pools.valid, token);
      model.kind = 'uncertain';
      let answer;
      try {
        answer = await adminCall(pick(gateways), 'DELETE', `/v1/tokens/${model.id}`);
      } catch {
        answer = { status: 0 };
      }
      if (answer.status === 200) {
        model.kind = 'revoked';
        model.revokedAt = performance.now();
        pools.revoked.push(token);
        stats.revocations.acknowledged++;
      } else {
        // It may still land (a timed-out command that Redis runs later): try again until acknowledged.
        stats.revocations.failed++;
        retry.push(token);
      }
      try {
        const t = await createReader(pick(gateways), { contents: 'read' });
        tokens.set(t.token, { kind: 'valid', id: t.id });
        pools.valid.push(t.token);
        stats.created.ok++;
      } catch {
        stats.created.failed++;
      }
    }
  };

  const faults = async () => {
    for (const [at, kind, duration] of FAULTS) {
      const wait = started + at * SECONDS * 1000 - performance.now();
      if (wait > 0) await delay(wait);
      if (performance.now() + duration > deadline) return;
      const t = Math.round(performance.now() - started);
      if (kind === 'pause') {
        redis.pause();
        await delay(duration);
        redis.resume();
      } else {
        await redis.kill();
        await delay(duration);
        await redis.start();
      }
      console.log(`  fault: ${kind} Redis at ${(t / 1000).toFixed(1)} s for ${duration} ms`);
    }
  };

  const memory = gateways.map(() => ({ start: 0, peak: 0, end: 0, heapStart: 0, heapEnd: 0 }));
  const sampler = async () => {
    while (running && performance.now() < deadline) {
      const elapsed = performance.now() - started;
      for (const [i, g] of gateways.entries()) {
        const rss = await rssOf(g.child.pid);
        // Measured after a warm-up tenth of the run: caches, pools and JIT settled.
        if (memory[i].start === 0 && elapsed > SECONDS * 100) {
          memory[i].start = rss;
          memory[i].heapStart = (await scrape(g)).heap_used_bytes;
        }
        memory[i].peak = Math.max(memory[i].peak, rss);
      }
      await delay(500);
    }
  };

  console.log(
    `soak: ${SECONDS} s, ${CONCURRENCY} concurrent clients, 2 gateways, Redis faults: ${FAULTS.map(([at, k]) => `${k}@${Math.round(at * SECONDS)}s`).join(', ')}`,
  );
  await Promise.all([...Array.from({ length: CONCURRENCY }, worker), revoker(), faults(), sampler()]);
  running = false;
  for (const [i, g] of gateways.entries()) memory[i].end = await rssOf(g.child.pid);
  const metrics = await Promise.all(gateways.map((g) => scrape(g).catch(() => ({}))));
  for (const [i, m] of metrics.entries()) memory[i].heapEnd = m.heap_used_bytes ?? 0;

  const sorted = stats.latencyMs.sort((x, y) => x - y);
  const at = (q) => (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0).toFixed(1);
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  const report = {
    seconds: SECONDS,
    requests: stats.requests,
    rate_per_s: Math.round(stats.requests / SECONDS),
    latency_ms: { p50: at(0.5), p99: at(0.99), max: at(1) },
    wrongful_allows: stats.wrongfulAllows.length,
    allowed_within_propagation_bound: stats.allowedInPropagationWindow,
    unexpected_refusals: stats.unexpectedRefusals,
    answers_by_token_kind: Object.fromEntries(Object.entries(stats.byKind).sort()),
    client_errors: stats.errors,
    revocations: stats.revocations,
    tokens_created_during_run: stats.created,
    memory_mib: Object.fromEntries(
      gateways.map((g, i) => [
        g.name,
        {
          after_warmup: mib(memory[i].start),
          peak: mib(memory[i].peak),
          end: mib(memory[i].end),
          growth: mib(memory[i].end - memory[i].start),
          heap_used_after_warmup: mib(memory[i].heapStart),
          heap_used_end: mib(memory[i].heapEnd),
        },
      ]),
    ),
    gateway_metrics: Object.fromEntries(gateways.map((g, i) => [g.name, metrics[i]])),
    gateway_logs: Object.fromEntries(
      gateways.map((g) => [g.name, { warn: g.logs.warn, error: g.logs.error, fatal: g.logs.fatal }]),
    ),
  };
  console.log(JSON.stringify(report, null, 2));
  if (stats.wrongfulAllows.length > 0) {
    console.log('wrongful allows:', JSON.stringify(stats.wrongfulAllows.slice(0, 20)));
  }
  for (const g of gateways) {
    if (g.logs.lines.length > 0)
      console.log(`gateway ${g.name} errors (first lines):\n${g.logs.lines.join('\n')}`);
  }

  // A clean stop is part of the result: SIGTERM must drain and exit 0.
  const codes = await Promise.all(
    gateways.map(async (g) => {
      await g.pool.close();
      const exited = new Promise((r) => g.child.once('exit', (code) => r(code)));
      g.child.kill('SIGTERM');
      return exited;
    }),
  );
  console.log(`gateway exit codes after SIGTERM: ${codes.join(', ')}`);
  upstream.close();
  const ok = stats.wrongfulAllows.length === 0 && codes.every((c) => c === 0) && stats.requests > 0;
  console.log(ok ? 'soak: PASS' : 'soak: FAIL');
  return ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error('soak: aborted:', err);
} finally {
  await cleanup();
}
process.exit(code);
