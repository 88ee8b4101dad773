#!/usr/bin/env node
// Webhook delivery latency (issue 18): a private redis-server, a real `patgate serve` with
// webhooks on, and a real receiver on 127.0.0.1 that verifies every signature with the
// `standardwebhooks` package. N token creations through the admin API; for each, the time
// from the admin API's answer to the receiver holding its verified `token.created`.
//
// Then the same again with a second subscription whose receiver is down, twice: once
// refusing connections, once accepting them and never answering (each attempt then holds
// a delivery slot for `webhooks.timeout_ms`). Meanwhile a client sends requests through the
// gateway: the admin API's and the gateway's own latency say whether a dead receiver slows
// the gateway.
//
//   npm run build && node scripts/webhook-latency.mjs                 # 200 changes per phase
//   node scripts/webhook-latency.mjs --changes 500 --phases healthy   # only the first phase
//
// Needs `redis-server` on the PATH. Not part of `npm test`; numbers go to docs/events.md.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist/src/main.js');
const ADMIN_TOKEN = 'latency-admin-token-0123456789abcdef';
const PHASES = ['healthy', 'refusing', 'hanging'];

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '200' },
    phases: { type: 'string', default: PHASES.join(',') },
    // The delivery settings under test; the rest are the config's defaults.
    'timeout-ms': { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '16' },
  },
});
const CHANGES = Number(args.changes);
const phases = args.phases.split(',');
if (!(CHANGES > 0) || phases.some((p) => !PHASES.includes(p))) {
  console.error(`usage: webhook-latency.mjs [--changes N] [--phases ${PHASES.join(',')}]`);
  process.exit(2);
}
/** Past this, an event that has not arrived counts as lost and the run fails. */
const ARRIVAL_DEADLINE_MS = 120_000;

const children = new Set();
const servers = new Set();
const dir = await mkdtemp(join(tmpdir(), 'patgate-webhook-latency-'));

async function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await rm(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

// --- processes ------------------------------------------------------------

function listen(server) {
  servers.add(server);
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen(server.address().port));
  });
}

async function freePort() {
  const server = createServer();
  const port = await listen(server);
  servers.delete(server);
  await new Promise((r) => server.close(r));
  return port;
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

async function startRedis() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  children.add(child);
  const deadline = Date.now() + 10_000;
  // Polled: redis-server says nothing machine-readable when it is ready.
  while (!(await answersPing(port))) {
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await delay(20);
  }
  return `redis://127.0.0.1:${port}`;
}

async function startGateway(configText) {
  const configPath = join(dir, 'patgate.yaml');
  await writeFile(configPath, configText);
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '', PATGATE_ADMIN_TOKEN: ADMIN_TOKEN, PATGATE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const logs = { warn: 0, error: 0 };
  const info = await new Promise((resolveInfo, reject) => {
    child.once('exit', (code) => reject(new Error(`patgate exited (${code}); run \`npm run build\` first?`)));
    const onLine = (line) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.level >= 50) logs.error++;
      else if (entry.level >= 40) logs.warn++;
      if (entry.msg === 'patgate listening') resolveInfo(entry);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
  });
  return { child, logs, url: `http://${info.gateway}`, adminUrl: `http://${info.admin}` };
}

async function adminCall(gateway, method, path, body) {
  const res = await request(`${gateway.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? {} : JSON.parse(text) };
}

// --- receivers ------------------------------------------------------------

/** Verifies every request with the subscription's secret; records when each token's event arrived. */
class Receiver {
  arrivals = new Map();
  waiters = new Map();
  rejected = 0;
  secret = null;
  #server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      let payload;
      try {
        payload = new Webhook(this.secret).verify(body, req.headers);
      } catch {
        this.rejected++;
        res.writeHead(400).end();
        return;
      }
      res.writeHead(204).end();
      const id = payload.data?.token_id;
      if (payload.type !== 'token.created' || typeof id !== 'string' || this.arrivals.has(id)) return;
      this.arrivals.set(id, at);
      this.waiters.get(id)?.();
    });
  });

  async start() {
    this.url = `http://127.0.0.1:${await listen(this.#server)}/hook`;
    return this;
  }

  arrived(id) {
    if (this.arrivals.has(id)) return Promise.resolve();
    return new Promise((resolveArrival) => this.waiters.set(id, resolveArrival));
  }
}

/** Accepts connections and never answers: each attempt waits out `timeout_ms`. */
async function hangingReceiver() {
  const server = createServer(() => {});
  return `http://127.0.0.1:${await listen(server)}/hook`;
}

// --- load -----------------------------------------------------------------

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const f = (v) => v.toFixed(1);
  return `p50 ${f(percentile(sorted, 50))}  p90 ${f(percentile(sorted, 90))}  p99 ${f(percentile(sorted, 99))}  max ${f(sorted.at(-1))} ms`;
}

/** Sequential requests through the gateway until `stop` resolves; their latencies. */
async function gatewayProbe(gateway, token, stop) {
  const latencies = [];
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  while (!stopped) {
    const started = performance.now();
    const res = await request(`${gateway.url}/repos/bench/api/issues`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`gateway answered ${res.statusCode}`);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

async function createToken(gateway, name) {
  const started = performance.now();
  const answer = await adminCall(gateway, 'POST', '/v1/tokens', {
    kind: 'fine_grained',
    user: 'bench',
    resource_owner: 'bench',
    name,
    repositories: 'all',
    permissions: { issues: 'read' },
    expires_in_days: 1,
  });
  const answered = performance.now();
  if (answer.status !== 201)
    throw new Error(`token creation: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { id: answer.body.id, token: answer.body.token, started, answered };
}

async function runPhase(gateway, receiver, phase, probeToken) {
  const changes = [];
  let endProbe;
  const probe = gatewayProbe(gateway, probeToken, new Promise((r) => (endProbe = r)));
  for (let i = 0; i < CHANGES; i++) changes.push(await createToken(gateway, `${phase}-${i}`));
  const deadline = delay(ARRIVAL_DEADLINE_MS).then(() => {
    throw new Error(`${phase}: not every event arrived within ${ARRIVAL_DEADLINE_MS} ms`);
  });
  await Promise.race([Promise.all(changes.map((c) => receiver.arrived(c.id))), deadline]);
  endProbe();
  const gatewayLatencies = await probe;
  const fromAnswer = changes.map((c) => receiver.arrivals.get(c.id) - c.answered);
  console.log(`\n${phase}: ${CHANGES} token creations, one at a time`);
  console.log(`  change answered -> event verified at the receiver: ${summary(fromAnswer)}`);
  console.log(
    `  admin API (POST /v1/tokens):                       ${summary(changes.map((c) => c.answered - c.started))}`,
  );
  console.log(
    `  gateway requests meanwhile (${String(gatewayLatencies.length).padStart(5)}):             ${summary(gatewayLatencies)}`,
  );
}

// --- main -----------------------------------------------------------------

async function main() {
  const redisUrl = await startRedis();
  const upstreamPort = await listen(createServer((_req, res) => res.writeHead(200).end('{}')));
  const gateway = await startGateway(`listen: "127.0.0.1:0"
upstream:
  url: "http://127.0.0.1:${upstreamPort}"
admin:
  listen: "127.0.0.1:0"
store:
  redis_url: "${redisUrl}"
  key_prefix: "latency:"
features:
  issues: [read, write]
routes:
  - route: "GET /repos/{owner}/{repo}/issues"
    permission: "issues:read"
unmatched: deny
webhooks:
  allow_private_targets: true
  timeout_ms: ${Number(args['timeout-ms'])}
  concurrency: ${Number(args.concurrency)}
`);
  const receiver = await new Receiver().start();
  const sub = await adminCall(gateway, 'POST', '/v1/webhooks', {
    url: receiver.url,
    events: ['token.created'],
  });
  if (sub.status !== 201) throw new Error(`subscription: ${sub.status} ${JSON.stringify(sub.body)}`);
  receiver.secret = sub.body.secret;

  // Warm-up, not measured: connections, the consumer group, JIT.
  const probeToken = (await createToken(gateway, 'probe')).token;
  for (let i = 0; i < 20; i++) await receiver.arrived((await createToken(gateway, `warm-${i}`)).id);

  console.log(
    `patgate ${gateway.url}, Redis ${redisUrl}; webhooks.timeout_ms ${args['timeout-ms']}, concurrency ${args.concurrency}`,
  );
  for (const phase of phases) {
    if (phase === 'refusing') {
      const closed = `http://127.0.0.1:${await freePort()}/hook`;
      await adminCall(gateway, 'POST', '/v1/webhooks', { url: closed, events: ['token.created'] });
    } else if (phase === 'hanging') {
      await adminCall(gateway, 'POST', '/v1/webhooks', {
        url: await hangingReceiver(),
        events: ['token.created'],
      });
    }
    await runPhase(gateway, receiver, phase, probeToken);
  }
  console.log(
    `\nsignatures rejected by the receiver: ${receiver.rejected}; gateway log: ${gateway.logs.error} errors, ${gateway.logs.warn} warnings`,
  );
  if (receiver.rejected > 0) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
