// Where a proxy's tail latency comes from: the bare proxy and patgate (warm cache) in alternating
// rounds under the load of `npm run bench`, each with bench/lib/latency-probe.cjs preloaded. For
// every run, the load generator's percentiles beside what the process saw itself: time from
// request to response, the client's turnaround, event-loop delay and GC pauses.
//
//   npm run build && node bench/latency.mjs [--rounds 4] [--duration 3] [--idle 0] [--runtime image|default]
//                                          [--node-flags='--flag ...']
//
// --idle S: both proxies sit stopped for S seconds before each measured run (after it, 1 s of
// warm-up as in run.mjs). In `npm run bench` a candidate waits ~60 s between its runs while the
// others are measured; the floor, measured twice as often, ~8 s.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyRuntime } from './lib/image-runtime.mjs';
import { drive, pickDriver } from './lib/load.mjs';
import { seedTokens, startPatgate } from './lib/patgate.mjs';
import {
  cpuLayout,
  freePort,
  pauseAllBut,
  pinSelf,
  start,
  stop,
  threadCpuUs,
  waitForPort,
} from './lib/procs.mjs';
import { startPrivateRedis } from './lib/redis.mjs';
import { fmt, median, textTable } from './lib/stats.mjs';
import { startUpstream } from './lib/upstream.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '3' },
    idle: { type: 'string', default: '0' },
    runtime: { type: 'string', default: 'image' },
    // More node flags for both proxies, after the runtime's (e.g. V8 GC flags under study).
    'node-flags': { type: 'string', default: '' },
  },
});
const NODE_FLAGS = [...applyRuntime(args.runtime), ...args['node-flags'].split(' ').filter(Boolean)];
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const IDLE_S = Number(args.idle);
const PATH = '/repos/acme/api/issues/1347';
const PROBE = fileURLToPath(new URL('./lib/latency-probe.cjs', import.meta.url));
const BARE = fileURLToPath(new URL('./proxies/bare.mjs', import.meta.url));
const log = (line) => process.stderr.write(`${line}\n`);

const layout = cpuLayout();
pinSelf(layout);
const driver = pickDriver();
const work = await mkdtemp(join(tmpdir(), 'patgate-latency-'));
const redis = await startPrivateRedis();
const upstream = await startUpstream();
const stops = [];
try {
  const [token] = await seedTokens(redis.url, 1);
  const probeArgs = [...NODE_FLAGS, '--require', PROBE];
  const targets = {};

  const barePort = await freePort();
  const bareOut = join(work, 'bare.probe');
  await writeFile(bareOut, '');
  const bare = start(process.execPath, [...probeArgs, BARE, String(barePort), upstream.url], {
    core: layout.proxyCore,
    env: { LATENCY_PROBE_OUT: bareOut },
  });
  stops.push(() => stop(bare));
  await waitForPort(barePort, 15_000, bare);
  targets.bare = { url: `http://127.0.0.1:${barePort}`, pid: bare.pid, out: bareOut };

  const pgOut = join(work, 'patgate.probe');
  await writeFile(pgOut, '');
  const pg = await startPatgate({
    dir: work,
    name: 'patgate',
    upstreamUrl: upstream.url,
    redisUrl: redis.url,
    routes: 20,
    maxEntries: 100_000,
    core: layout.proxyCore,
    nodeArgs: probeArgs,
    env: { LATENCY_PROBE_OUT: pgOut },
  });
  stops.push(pg.stop);
  targets.patgate = { url: pg.url, pid: pg.pid, out: pgOut };

  const pids = Object.values(targets).map((t) => t.pid);
  const load = (name) => ({ driver, url: targets[name].url + PATH, connections: 64, token });
  for (const name of Object.keys(targets)) await drive({ ...load(name), durationS: 3 });

  const runs = { bare: [], patgate: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? ['bare', 'patgate'] : ['patgate', 'bare']) {
      const target = targets[name];
      const resume = pauseAllBut(pids, target.pid);
      try {
        if (IDLE_S > 0) {
          process.kill(target.pid, 'SIGSTOP');
          await delay(IDLE_S * 1000);
          process.kill(target.pid, 'SIGCONT');
        }
        await drive({ ...load(name), durationS: 1 });
        process.kill(target.pid, 'SIGUSR2');
        const cpu0 = threadCpuUs(target.pid);
        const seen = await drive({ ...load(name), durationS: DURATION_S });
        const cpu1 = threadCpuUs(target.pid);
        const cpuUsPerRequest = (cpu1.main + cpu1.helpers - cpu0.main - cpu0.helpers) / seen.requests;
        const helperUsPerRequest = (cpu1.helpers - cpu0.helpers) / seen.requests;
        process.kill(target.pid, 'SIGUSR2');
        const self = await lastProbeLine(target.out, round + 1);
        const run = { ...seen, cpuUsPerRequest, helperUsPerRequest, self };
        runs[name].push(run);
        log(`r${round + 1} ${name.padEnd(8)} ${describe(run)}`);
      } finally {
        resume();
      }
    }
  }

  const rows = [];
  for (const [name, rs] of Object.entries(runs)) {
    const m = (pick) => median(rs.map(pick));
    rows.push([
      name,
      fmt.rps(m((r) => r.rps)),
      m((r) => r.cpuUsPerRequest).toFixed(1),
      m((r) => r.helperUsPerRequest).toFixed(1),
      `${fmt.ms(m((r) => r.p50Ms))} / ${fmt.ms(m((r) => r.p99Ms))} / ${fmt.ms(m((r) => r.p999Ms))} / ${fmt.ms(m((r) => r.maxMs))}`,
      `${fmt.ms(m((r) => r.self.request.p99))} / ${fmt.ms(m((r) => r.self.request.max))}`,
      `${fmt.ms(m((r) => r.self.turnaround.p99))} / ${fmt.ms(m((r) => r.self.turnaround.max))}`,
      fmt.ms(m((r) => r.self.loop.max)),
      `${m((r) => r.self.gc['mark-compact']?.count ?? 0)} / ${fmt.ms(m((r) => r.self.gc['mark-compact']?.maxMs ?? 0))}`,
      `${m((r) => r.self.gc.scavenge?.count ?? 0)} / ${fmt.ms(m((r) => r.self.gc.scavenge?.totalMs ?? 0))}`,
    ]);
  }
  process.stdout.write(
    `\nwarm cache, ~200 B, ${driver}, 64 connections, medians of ${ROUNDS} rounds of ${DURATION_S} s, idle ${IDLE_S} s before each, runtime ${args.runtime}${NODE_FLAGS.length > 0 ? ` (node ${NODE_FLAGS.join(' ')})` : ''}\n\n${textTable(
      [
        'proxy',
        'req/s',
        'CPU µs/req',
        'of it, helper threads',
        'client p50/p99/p99.9/max ms',
        'request p99/max ms',
        'turnaround p99/max ms',
        'loop delay max ms',
        'mark-compacts / longest ms',
        'scavenges / total ms',
      ],
      rows,
    )}\n`,
  );
} finally {
  for (const fn of stops.reverse()) await fn();
  await upstream.stop();
  await redis.stop();
  await rm(work, { recursive: true, force: true });
}

/** The probe's report for this run: it appends a line per SIGUSR2, so the `2 * round`-th. */
async function lastProbeLine(file, round) {
  for (let tries = 0; tries < 100; tries++) {
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    if (lines.length >= 2 * round) return JSON.parse(lines[2 * round - 1]);
    await delay(20);
  }
  throw new Error(`${file}: no probe report for round ${round}`);
}

function describe(run) {
  const { self } = run;
  const mc = self.gc['mark-compact'];
  return `${fmt.rps(run.rps).padStart(7)} req/s ${run.cpuUsPerRequest.toFixed(1)} µs/req (helpers ${run.helperUsPerRequest.toFixed(1)}) | client p99 ${fmt.ms(run.p99Ms)} p99.9 ${fmt.ms(run.p999Ms)} max ${fmt.ms(run.maxMs)} | request p99 ${fmt.ms(self.request.p99)} max ${fmt.ms(self.request.max)} | turnaround p99 ${fmt.ms(self.turnaround.p99)} max ${fmt.ms(self.turnaround.max)} | loop max ${fmt.ms(self.loop.max)} | mark-compacts ${mc?.count ?? 0} (longest ${fmt.ms(mc?.maxMs ?? 0)} ms)`;
}
