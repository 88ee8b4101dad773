// `npm run bench`: patgate against a bare Node proxy and its Node peers, same load, same run.
// See docs/performance.md for the method and the targets. Builds nothing itself: the npm script builds first.
//
//   node bench/run.mjs [--quick] [--rounds N] [--duration S] [--driver wrk|autocannon]
//                      [--upstream nginx|node] [--connections N] [--scale] [--runtime image|default]
//                      [--only deploy,workers,cluster]
//
// `--only`: run just those groups of rows (bench/lib/deploy.mjs; `cluster`: the cold rows on one
// Redis and on a Redis Cluster), print them, write nothing to bench/results/ (a partial run must
// not replace the full one).
import { execFileSync } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEPLOY_GROUPS, deployTargets, renderDeploy, runDeployRows } from './lib/deploy.mjs';
import { applyRuntime } from './lib/image-runtime.mjs';
import { drive, pickDriver } from './lib/load.mjs';
import { cacheEntries, seedClusterTokens, seedTokens, startPatgate, unknownTokens } from './lib/patgate.mjs';
import {
  cpuLayout,
  foreignCpu,
  freePort,
  pauseAllBut,
  pinSelf,
  procCpuUs,
  sampleRss,
  selfAndChildrenCpuUs,
  start,
  stop,
  waitForPort,
  waitForQuiet,
} from './lib/procs.mjs';
import { startPrivateRedis } from './lib/redis.mjs';
import { startPrivateCluster } from './lib/redis-cluster.mjs';
import { fmt, markdownTable, median, textTable } from './lib/stats.mjs';
import { LARGE_BYTES, nginxAvailable, startUpstream } from './lib/upstream.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    driver: { type: 'string', default: 'auto' },
    upstream: { type: 'string', default: 'auto' },
    connections: { type: 'string', default: '64' },
    scale: { type: 'boolean', default: false },
    retries: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    // image: every process runs with the allocator settings and node flags the Dockerfile ships;
    // default: glibc's and V8's defaults.
    runtime: { type: 'string', default: 'image' },
    only: { type: 'string' },
  },
});

// Set before any process starts: children inherit the allocator settings (the proxies, and the
// upstream, Redis and load generator alike, so that no proxy gets an allocator the others do not);
// every proxy gets the node flags, patgate and the baselines alike.
const NODE_FLAGS = applyRuntime(args.runtime);
const QUICK = args.quick;
const ONLY = args.only === undefined ? null : args.only.split(',').map((group) => group.trim());
const ONLY_GROUPS = [...DEPLOY_GROUPS, 'cluster'];
for (const group of ONLY ?? []) {
  if (!ONLY_GROUPS.includes(group)) {
    process.stderr.write(`--only takes ${ONLY_GROUPS.join(', ')}; got "${group}"\n`);
    process.exit(2);
  }
}
const ROUNDS = Number(args.rounds ?? (QUICK ? 2 : 5));
const DURATION_S = Number(args.duration ?? (QUICK ? 2 : 3));
const WARMUP_S = Number(args.warmup ?? 1);
const CONNECTIONS = Number(args.connections);
const COLD_TOKENS = QUICK ? 5_000 : 20_000;
const FLOOD_TOKENS = QUICK ? 50_000 : 300_000;
const FLOOD_PRE_S = QUICK ? 2 : 8;
const FLOOD_S = QUICK ? 4 : 16;
// First load of each scenario on each process, unmeasured: long enough for V8 to optimise the hot
// path before round 1. 64 KiB responses need far longer: a fresh process (the bare proxy too)
// climbs from ~1,000 to its plateau over ~5-10 s of that load, while the bare proxy, measured
// twice as often as anyone, would otherwise be the only one at its plateau.
const PRIME_S = { small: QUICK ? 1 : 3, large: QUICK ? 5 : 10 };
const FLOOD_MAX_ENTRIES = 1_000;
const COLD_MAX_ENTRIES = 1_000;
const WARM_MAX_ENTRIES = 100_000;
const BIG_ROUTES = 5_000;
// On a shared machine other work steals CPU from a run: such runs are redone (up to RETRIES times)
// and the cleanest kept. "Foreign" CPU is measured from /proc, in CPUs, during the run.
const RETRIES = Number(args.retries ?? (QUICK ? 0 : 1));
const FOREIGN_LIMIT = 0.15;
const QUIET_WAIT_MS = QUICK ? 1_000 : 5_000;
// What runs on the load core besides the load generator (upstream, Redis): to tell which core
// limits a run.
const loadCorePids = [];

const SMALL_PATH = '/repos/acme/api/issues/1347';
const LARGE_PATH = '/repos/acme/api/contents/assets/large.bin';
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const BENCH = fileURLToPath(new URL('./', import.meta.url));

const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  const began = Date.now();
  const layout = cpuLayout();
  pinSelf(layout);
  const driver = pickDriver(args.driver);
  const work = await mkdtemp(join(tmpdir(), 'patgate-bench-'));
  const cleanups = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const upstream = await startUpstream(args.upstream);
    cleanups.push(() => upstream.stop());
    loadCorePids.push(redis.pid, upstream.pid);
    log(
      `driver ${driver}, upstream ${upstream.kind}, ${layout.pinned ? `pinned: load+upstream+redis on CPU ${layout.loadCore}, proxy on CPU ${layout.proxyCore}` : 'not pinned'}`,
    );

    if (ONLY !== null) {
      const [token] = await seedTokens(redis.url, 1);
      const common = {
        dir: work,
        upstreamUrl: upstream.url,
        redisUrl: redis.url,
        core: layout.proxyCore,
        nodeArgs: NODE_FLAGS,
      };
      if (ONLY.includes('cluster')) {
        const cluster = await startPrivateCluster();
        cleanups.push(() => cluster.stop());
        loadCorePids.push(...cluster.pids);
        const text = await runColdRows({ common, cluster, driver, cleanups });
        process.stdout.write(`\n${text}\n`);
      }
      const groups = ONLY.filter((group) => DEPLOY_GROUPS.includes(group));
      if (groups.length === 0) {
        process.stdout.write('(--only: nothing written to bench/results/)\n');
        return;
      }
      const deploy = await runDeployRows(deployOptions({ groups, common, driver, layout, token }));
      const section = renderDeploy(deploy);
      const tRows = deployTargets(deploy).map((t) => [t.name, t.measured, verdict(t.pass)]);
      process.stdout.write(
        `\n${section.text}\n${textTable(['target', 'measured', 'result'], tRows)}\n(--only: nothing written to bench/results/)\n`,
      );
      return;
    }

    log(`seeding ${COLD_TOKENS.toLocaleString('en-US')} tokens into the private Redis...`);
    const known = await seedTokens(redis.url, COLD_TOKENS);
    // The cold row on a Redis Cluster: 6 private nodes (3 primaries, 3 replicas) on the load core.
    const cluster = await startPrivateCluster();
    cleanups.push(() => cluster.stop());
    loadCorePids.push(...cluster.pids);
    log(`seeding ${COLD_TOKENS.toLocaleString('en-US')} tokens into the private Redis Cluster...`);
    const clusterKnown = await seedClusterTokens(cluster.nodes, COLD_TOKENS);
    const clusterColdFile = join(work, 'cold-cluster.txt');
    await writeFile(clusterColdFile, `${clusterKnown.join('\n')}\n`);
    const unknown = await unknownTokens(FLOOD_TOKENS);
    const coldFile = join(work, 'cold.txt');
    await writeFile(coldFile, `${known.join('\n')}\n`);
    // The flood: three unknown (negative-cached) tokens for one known, never repeating within the run.
    const flood = [];
    for (let i = 0; i < unknown.length; i++) {
      flood.push(unknown[i]);
      if (i % 3 === 2) flood.push(known[((i / 3) | 0) % known.length]);
    }
    const floodFile = join(work, 'flood.txt');
    await writeFile(floodFile, `${flood.join('\n')}\n`);
    const warmToken = known[0];

    const core = layout.proxyCore;
    const baselines = {};
    for (const [name, script] of [
      ['bare', 'bare.mjs'],
      ['bare-twin', 'bare.mjs'],
      ['http-proxy', 'http-proxy.mjs'],
      ['fastify', 'fastify.mjs'],
      ['hono', 'hono.mjs'],
    ]) {
      const port = await freePort();
      const logFile = join(work, `${name}.log`);
      const child = start(
        process.execPath,
        [...NODE_FLAGS, join(BENCH, 'proxies', script), String(port), upstream.url],
        { core, logFd: openSync(logFile, 'a') },
      );
      await waitForPort(port, 15_000, child);
      cleanups.push(() => stop(child));
      baselines[name] = { url: `http://127.0.0.1:${port}`, pid: child.pid, child, logFile };
    }
    const common = { dir: work, upstreamUrl: upstream.url, redisUrl: redis.url, core, nodeArgs: NODE_FLAGS };
    const pgWarm = await startPatgate({
      ...common,
      name: 'patgate',
      routes: 20,
      maxEntries: WARM_MAX_ENTRIES,
    });
    cleanups.push(pgWarm.stop);
    const pgBig = await startPatgate({
      ...common,
      name: 'patgate-5k',
      routes: BIG_ROUTES,
      maxEntries: WARM_MAX_ENTRIES,
    });
    cleanups.push(pgBig.stop);
    const pgLimited = await startPatgate({
      ...common,
      name: 'patgate-rl',
      routes: 20,
      maxEntries: WARM_MAX_ENTRIES,
      rateLimits: true,
    });
    cleanups.push(pgLimited.stop);
    const pgAsserted = await startPatgate({
      ...common,
      name: 'patgate-ia',
      routes: 20,
      maxEntries: WARM_MAX_ENTRIES,
      identityAssertion: true,
    });
    cleanups.push(pgAsserted.stop);
    const pgCold = await startPatgate({
      ...common,
      name: 'patgate-cold',
      routes: 20,
      maxEntries: COLD_MAX_ENTRIES,
    });
    cleanups.push(pgCold.stop);
    const pgColdCluster = await startPatgate({
      ...common,
      name: 'patgate-cold-cluster',
      routes: 20,
      maxEntries: COLD_MAX_ENTRIES,
      clusterNodes: cluster.nodes,
    });
    cleanups.push(pgColdCluster.stop);

    const entries = {
      // Every proxy gets the same request bytes, the bearer included; the ones without auth
      // forward it.
      bare: { label: 'bare node:http + undici Pool.stream (floor)', ...baselines.bare, token: warmToken },
      // The floor again, in a second process measured like every candidate (between two runs of
      // the first): how far the harness itself moves a ratio, with nothing else different.
      'bare-twin': {
        label: 'a second bare process, measured as a candidate (the harness control)',
        ...baselines['bare-twin'],
        token: warmToken,
      },
      'http-proxy': { label: 'node-http-proxy (no auth)', ...baselines['http-proxy'], token: warmToken },
      fastify: { label: '@fastify/http-proxy (no auth)', ...baselines.fastify, token: warmToken },
      hono: {
        label: 'Hono + @hono/node-server in front of the floor (no auth)',
        ...baselines.hono,
        token: warmToken,
      },
      patgate: {
        label: 'patgate, warm cache, 20 routes',
        url: pgWarm.url,
        pid: pgWarm.pid,
        child: pgWarm.child,
        logFile: join(work, 'patgate.log'),
        token: warmToken,
      },
      'patgate-rl': {
        label: 'patgate, warm, rate limits on',
        url: pgLimited.url,
        pid: pgLimited.pid,
        child: pgLimited.child,
        logFile: join(work, 'patgate-rl.log'),
        token: warmToken,
      },
      'patgate-ia': {
        label: 'patgate, warm, identity_assertion on (EdDSA)',
        url: pgAsserted.url,
        pid: pgAsserted.pid,
        child: pgAsserted.child,
        logFile: join(work, 'patgate-ia.log'),
        token: warmToken,
      },
      'patgate-5k': {
        label: `patgate, warm cache, ${BIG_ROUTES.toLocaleString('en-US')} routes`,
        url: pgBig.url,
        pid: pgBig.pid,
        child: pgBig.child,
        logFile: join(work, 'patgate-5k.log'),
        token: warmToken,
      },
      'bare-tokens': {
        label: 'bare, driven like the cold run (new token per request)',
        ...baselines.bare,
        tokenFile: coldFile,
      },
      'patgate-cold': {
        label: 'patgate, cold cache (new token per request, Redis on the path)',
        url: pgCold.url,
        pid: pgCold.pid,
        child: pgCold.child,
        logFile: join(work, 'patgate-cold.log'),
        tokenFile: coldFile,
      },
      'patgate-cold-cluster': {
        label: 'patgate, cold cache on Redis Cluster (new token per request, 3+3 nodes)',
        url: pgColdCluster.url,
        pid: pgColdCluster.pid,
        child: pgColdCluster.child,
        logFile: join(work, 'patgate-cold-cluster.log'),
        // The sanity check's token (the load reads the file).
        token: clusterKnown[1],
        tokenFile: clusterColdFile,
      },
    };

    await sanityCheck(entries, known);
    const proxyPids = Object.values(entries).map((entry) => entry.pid);
    const loadFor = (scenario, entry, start) => ({
      driver,
      url: entry.url + scenario.path,
      connections: scenario.connections ?? CONNECTIONS,
      token: entry.tokenFile === undefined ? entry.token : undefined,
      tokenFile: entry.tokenFile,
      start,
    });
    const scenarios = [
      {
        name: 'small',
        path: SMALL_PATH,
        body: '~200 B JSON',
        proxies: Object.keys(entries).filter((name) => name !== 'bare'),
      },
      {
        name: 'large',
        path: LARGE_PATH,
        body: '64 KiB',
        proxies: ['bare-twin', 'http-proxy', 'fastify', 'hono', 'patgate'],
      },
    ];
    if (args.scale) {
      for (const c of [16, 256]) {
        scenarios.push({
          name: `small-c${c}`,
          path: SMALL_PATH,
          body: `~200 B JSON, ${c} connections`,
          proxies: ['patgate'],
          connections: c,
        });
      }
    }

    const runs = [];
    for (const scenario of scenarios) {
      // Each process first gets this scenario's own load, unmeasured, so that V8 has optimised for
      // it. Scenarios run in the same order for every proxy: each has served the same traffic
      // before (a process that served 64 KiB bodies is slower on small ones, and vice versa).
      const primeS = PRIME_S[scenario.name] ?? PRIME_S.small;
      log(`${scenario.name}: priming each proxy with ${primeS} s of this load...`);
      const primed = new Set();
      for (const name of ['bare', ...scenario.proxies]) {
        const entry = entries[name];
        if (primed.has(entry.pid) && entry.tokenFile === undefined) continue;
        primed.add(entry.pid);
        const resume = pauseAllBut(proxyPids, entry.pid);
        try {
          await drive({ ...loadFor(scenario, entry, 0), durationS: primeS });
        } catch (error) {
          requireAlive(name, entry);
          throw error;
        } finally {
          resume();
        }
      }
      // Bracketed rounds: bare, A, bare, B, bare, ... Each candidate is judged against the mean of
      // the two bare runs around it, seconds apart, so that the machine's slow swings (on a shared
      // VM the same proxy moves by ±30 % from one minute to the next) hit both sides of a ratio
      // alike; the report takes the median of those per-round ratios.
      for (let round = 0; round < ROUNDS; round++) {
        const k = round % scenario.proxies.length;
        const rotated = [...scenario.proxies.slice(k), ...scenario.proxies.slice(0, k)];
        const order = round % 2 === 1 ? rotated.reverse() : rotated;
        const measure = async (name) => {
          const entry = entries[name];
          const load = loadFor(scenario, entry, Math.floor(Math.random() * COLD_TOKENS));
          const resume = pauseAllBut(proxyPids, entry.pid);
          let result;
          try {
            await drive({ ...load, durationS: WARMUP_S });
            result = await measuredRun(load, entry.pid);
          } catch (error) {
            // A load generator that cannot connect says so, but not to which proxy or why.
            requireAlive(name, entry);
            throw error;
          } finally {
            resume();
          }
          // A proxy that died would otherwise score 0 req/s, a round like any other.
          requireAlive(name, entry);
          log(
            `  ${scenario.name.padEnd(9)} r${round + 1} ${name.padEnd(13)} ${fmt.rps(result.rps).padStart(8)} req/s  p50 ${fmt.ms(result.p50Ms)} ms  p99 ${fmt.ms(result.p99Ms)} ms  ${result.cpuUsPerRequest.toFixed(1)} µs CPU/req  foreign ${result.foreignCpus.toFixed(2)} CPU${result.attempts > 1 ? ` (${result.attempts} tries)` : ''}${result.non2xx + result.socketErrors > 0 ? `  (non-2xx ${result.non2xx}, socket errors ${result.socketErrors})` : ''}`,
          );
          return result;
        };
        let before = await measure('bare');
        runs.push({ scenario: scenario.name, proxy: 'bare', round, ...before, bracket: before });
        for (const name of order) {
          const result = await measure(name);
          const after = await measure('bare');
          runs.push({
            scenario: scenario.name,
            proxy: name,
            round,
            ...result,
            bracket: meanRun(before, after),
          });
          runs.push({ scenario: scenario.name, proxy: 'bare', round, ...after, bracket: after });
          before = after;
        }
      }
    }

    log('flood of distinct tokens against a fresh patgate with cache.max_entries 1,000...');
    const resumeAll = pauseAllBut(proxyPids, null);
    let floodResult;
    try {
      floodResult = await runFlood({ common, driver, warmToken, floodFile });
    } finally {
      resumeAll();
    }

    // Issue 15's rows, with every proxy above stopped: they have the cores to themselves.
    const resumeForDeploy = pauseAllBut(proxyPids, null);
    let deploy;
    try {
      deploy = await runDeployRows(
        deployOptions({ groups: DEPLOY_GROUPS, common, driver, layout, token: warmToken }),
      );
    } finally {
      resumeForDeploy();
    }

    const summary = summarise(scenarios, runs, entries);
    const targets = evaluateTargets(summary, runs, floodResult);
    targets.push(...deployTargets(deploy));
    const meta = {
      date: new Date().toISOString(),
      commit: gitCommit(),
      node: process.version,
      cpus: layout.cpus,
      pinning: layout.pinned
        ? `load generator, upstream and Redis on CPU ${layout.loadCore}; proxy under test on CPU ${layout.proxyCore}`
        : 'none (taskset missing or one CPU)',
      driver,
      upstream: upstream.kind === 'nginx' ? 'nginx (sendfile off)' : 'node:http',
      connections: CONNECTIONS,
      runtime:
        args.runtime === 'image'
          ? `GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}, node ${NODE_FLAGS.join(' ')} (the image's)`
          : 'glibc and V8 defaults',
      rounds: ROUNDS,
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      quick: QUICK,
      runtimeS: Math.round((Date.now() - began) / 1000),
    };
    const context = contextLines(summary);
    const report = render(meta, summary, targets, floodResult, context);
    const deploySection = renderDeploy(deploy);
    report.text += `\n${deploySection.text}`;
    report.markdown += `\n${deploySection.markdown}`;
    process.stdout.write(`\n${report.text}\n`);
    if (!args['no-write']) {
      const json = `${JSON.stringify({ meta, summary, targets, context, flood: floodResult, deploy, runs }, null, 2)}\n`;
      const stamp = meta.date.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
      await mkdir(join(RESULTS, 'history'), { recursive: true });
      await writeFile(join(RESULTS, 'latest.json'), json);
      await writeFile(join(RESULTS, 'latest.md'), report.markdown);
      await writeFile(join(RESULTS, 'history', `${stamp}.json`), json);
      await writeFile(join(RESULTS, 'history', `${stamp}.md`), report.markdown);
      log(`written: bench/results/latest.{json,md} and bench/results/history/${stamp}.{json,md}`);
    }
  } finally {
    await cleanup();
  }
}

/**
 * `--only cluster`: the cold rows alone, on one Redis and on a Redis Cluster, each run between two
 * runs of the bare proxy driven the same way (a new token per request), as in the full run.
 */
async function runColdRows({ common, cluster, driver, cleanups }) {
  const count = QUICK ? 2_000 : COLD_TOKENS;
  log(`seeding ${count.toLocaleString('en-US')} tokens into the private Redis and the Redis Cluster...`);
  const files = {};
  for (const [name, tokens] of [
    ['patgate-cold', await seedTokens(common.redisUrl, count)],
    ['patgate-cold-cluster', await seedClusterTokens(cluster.nodes, count)],
  ]) {
    files[name] = join(common.dir, `${name}.txt`);
    await writeFile(files[name], `${tokens.join('\n')}\n`);
  }
  const port = await freePort();
  const bareLog = join(common.dir, 'bare.log');
  const bareChild = start(
    process.execPath,
    [...NODE_FLAGS, join(BENCH, 'proxies', 'bare.mjs'), String(port), common.upstreamUrl],
    { core: common.core, logFd: openSync(bareLog, 'a') },
  );
  await waitForPort(port, 15_000, bareChild);
  cleanups.push(() => stop(bareChild));
  const entries = {
    bare: { url: `http://127.0.0.1:${port}`, pid: bareChild.pid, child: bareChild, logFile: bareLog },
  };
  for (const [name, extra] of [
    ['patgate-cold', {}],
    ['patgate-cold-cluster', { clusterNodes: cluster.nodes }],
  ]) {
    const pg = await startPatgate({ ...common, ...extra, name, routes: 20, maxEntries: COLD_MAX_ENTRIES });
    cleanups.push(pg.stop);
    entries[name] = { url: pg.url, pid: pg.pid, child: pg.child, logFile: join(common.dir, `${name}.log`) };
  }
  const pids = Object.values(entries).map((entry) => entry.pid);
  const measure = async (name, tokenFile, durationS) => {
    const entry = entries[name];
    const load = { driver, url: entry.url + SMALL_PATH, connections: CONNECTIONS, tokenFile, start: 0 };
    const resume = pauseAllBut(pids, entry.pid);
    try {
      if (durationS !== undefined) return await drive({ ...load, durationS });
      await drive({ ...load, durationS: WARMUP_S });
      return await measuredRun(load, entry.pid);
    } catch (error) {
      requireAlive(name, entry);
      throw error;
    } finally {
      resume();
    }
  };
  const names = ['patgate-cold', 'patgate-cold-cluster'];
  for (const name of names) await measure(name, files[name], PRIME_S.small);
  const rows = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const before = await measure('bare', files[name]);
      const result = await measure(name, files[name]);
      const after = await measure('bare', files[name]);
      requireAlive(name, entries[name]);
      rows[name].push({ ...result, bracket: meanRun(before, after) });
      log(
        `  cold r${round + 1} ${name.padEnd(21)} ${fmt.rps(result.rps).padStart(8)} req/s  p99 ${fmt.ms(result.p99Ms)} ms  non-2xx ${result.non2xx}`,
      );
    }
  }
  const table = names.map((name) => {
    const mine = rows[name];
    return [
      name === 'patgate-cold' ? 'cold cache, one Redis' : 'cold cache, Redis Cluster (3+3 nodes)',
      fmt.rps(median(mine.map((r) => r.rps))),
      fmt.ms(median(mine.map((r) => r.p50Ms))),
      fmt.ms(median(mine.map((r) => r.p99Ms))),
      median(mine.map((r) => r.cpuUsPerRequest)).toFixed(1),
      fmt.ratio(median(mine.map((r) => r.rps / r.bracket.rps))),
      String(mine.reduce((sum, r) => sum + r.non2xx + r.socketErrors, 0)),
    ];
  });
  return `Cold rows (new token per request, ${ROUNDS} rounds of ${DURATION_S} s, each between two bare runs):\n${textTable(
    ['row', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'x bare', 'non-2xx + errors'],
    table,
  )}`;
}

/** The bracket of a candidate run: the mean of the bare runs just before and just after it. */
function meanRun(a, b) {
  const mean = (k) => (a[k] + b[k]) / 2;
  return {
    rps: mean('rps'),
    cpuUsPerRequest: mean('cpuUsPerRequest'),
    p50Ms: mean('p50Ms'),
    p99Ms: mean('p99Ms'),
  };
}

function loadCoreCpuUs() {
  return selfAndChildrenCpuUs() + loadCorePids.reduce((sum, pid) => sum + procCpuUs(pid), 0);
}

/** One measured run: waits for a quiet machine, redoes runs that other work disturbed. */
async function measuredRun(load, pid) {
  let best;
  let attempts = 0;
  for (let attempt = 1; attempt <= RETRIES + 1; attempt++) {
    attempts = attempt;
    await waitForQuiet({ threshold: FOREIGN_LIMIT, maxWaitMs: QUIET_WAIT_MS });
    const rss = sampleRss(pid);
    const cpu0 = procCpuUs(pid);
    const load0 = loadCoreCpuUs();
    const t0 = performance.now();
    const foreign = foreignCpu();
    let foreignCpus = Number.NaN;
    // Read before the load generator exits: its CPU counts as ours only while it is alive.
    const timer = setTimeout(
      () => {
        foreignCpus = foreign.end();
      },
      DURATION_S * 1000 - 150,
    );
    const result = await drive({ ...load, durationS: DURATION_S });
    clearTimeout(timer);
    const elapsedUs = (performance.now() - t0) * 1000;
    const proxyCpuUs = procCpuUs(pid) - cpu0;
    const cpuUsPerRequest = proxyCpuUs / result.requests;
    const proxyCoreBusy = proxyCpuUs / elapsedUs;
    const loadCoreBusy = (loadCoreCpuUs() - load0) / elapsedUs;
    const { peak } = rss.stop();
    const run = { ...result, cpuUsPerRequest, peakRss: peak, foreignCpus, proxyCoreBusy, loadCoreBusy };
    if (best === undefined || !(run.foreignCpus >= best.foreignCpus)) best = run;
    if (!(run.foreignCpus >= FOREIGN_LIMIT)) break;
  }
  return { ...best, attempts };
}

/** Throws, with the tail of its output, if the proxy's process has exited. */
function requireAlive(name, { child, logFile }) {
  if (child.exitCode === null && child.signalCode === null) return;
  let log = '';
  try {
    log = readFileSync(logFile, 'utf8').slice(-3000);
  } catch {
    // No log: the exit status is all there is.
  }
  throw new Error(
    `${name} exited (${child.exitCode ?? child.signalCode}) during its run\n--- ${logFile} ---\n${log}`,
  );
}

/** Every proxy must answer 200 with the whole body before anything is measured. */
async function sanityCheck(entries, known) {
  for (const [name, entry] of Object.entries(entries)) {
    const token = entry.token ?? known[1];
    for (const [path, min] of [
      [SMALL_PATH, 100],
      [LARGE_PATH, LARGE_BYTES],
    ]) {
      const res = await fetch(entry.url + path, { headers: { authorization: `Bearer ${token}` } });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || body.length < min) {
        throw new Error(
          `${name} ${path}: status ${res.status}, ${body.length} bytes: ${body.subarray(0, 300)}`,
        );
      }
    }
  }
}

async function runFlood({ common, driver, warmToken, floodFile }) {
  const pg = await startPatgate({
    ...common,
    name: 'patgate-flood',
    routes: 20,
    maxEntries: FLOOD_MAX_ENTRIES,
  });
  try {
    await drive({
      driver,
      url: pg.url + SMALL_PATH,
      connections: CONNECTIONS,
      durationS: 1,
      token: warmToken,
    });
    // Not measured: V8 sizes its heap to the allocation rate during the first seconds of a flood,
    // which would read as growth. The measured flood then starts where this one stopped.
    const pre = await drive({
      driver,
      url: pg.url + SMALL_PATH,
      connections: CONNECTIONS,
      durationS: FLOOD_PRE_S,
      tokenFile: floodFile,
    });
    await waitForQuiet({ threshold: FOREIGN_LIMIT, maxWaitMs: QUIET_WAIT_MS });
    const rss = sampleRss(pg.pid, 100);
    const cpu0 = procCpuUs(pg.pid);
    const foreign = foreignCpu();
    let foreignCpus = Number.NaN;
    const timer = setTimeout(
      () => {
        foreignCpus = foreign.end();
      },
      FLOOD_S * 1000 - 150,
    );
    const result = await drive({
      driver,
      url: pg.url + SMALL_PATH,
      connections: CONNECTIONS,
      durationS: FLOOD_S,
      tokenFile: floodFile,
      start: pre.requests,
    });
    clearTimeout(timer);
    const cpuUsPerRequest = (procCpuUs(pg.pid) - cpu0) / result.requests;
    const { samples } = rss.stop();
    const entriesAfter = await cacheEntries(pg.adminUrl);
    const t0 = samples[0].t;
    const t1 = samples[samples.length - 1].t;
    const mid = (t0 + t1) / 2;
    const before = samples[0].rss;
    const first = samples.filter((s) => s.t <= mid).map((s) => s.rss);
    const second = samples.filter((s) => s.t > mid).map((s) => s.rss);
    const firstHalf = Math.max(...first);
    const secondHalf = Math.max(...second);
    // Medians: the heap's GC sawtooth moves peaks by tens of MB without any growth underneath.
    const medianFirst = median(first);
    const medianSecond = median(second);
    const distinct = Math.min(pre.requests + result.requests, FLOOD_TOKENS + FLOOD_TOKENS / 3);
    log(
      `  flood: ${fmt.rps(result.rps)} req/s, ~${distinct.toLocaleString('en-US')} distinct tokens, cache ${entriesAfter}/${FLOOD_MAX_ENTRIES}, RSS ${fmt.mb(before)} -> ${fmt.mb(firstHalf)} (1st half peak) -> ${fmt.mb(secondHalf)} MB (2nd half peak); medians ${fmt.mb(medianFirst)} / ${fmt.mb(medianSecond)} MB`,
    );
    return {
      rps: result.rps,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      requests: result.requests,
      cpuUsPerRequest,
      foreignCpus,
      distinctTokens: distinct,
      maxEntries: FLOOD_MAX_ENTRIES,
      cacheEntries: entriesAfter,
      rssBefore: before,
      peakRssFirstHalf: firstHalf,
      peakRssSecondHalf: secondHalf,
      medianRssFirstHalf: medianFirst,
      medianRssSecondHalf: medianSecond,
      peakRss: Math.max(firstHalf, secondHalf),
    };
  } finally {
    await pg.stop();
  }
}

/** p99 limit of the issue: 1.5 x the floor's p99 + 1 ms, here per round against the bracket. */
const p99Limit = (bracket) => 1.5 * bracket.p99Ms + 1;

function summarise(scenarios, runs, entries) {
  const rows = [];
  for (const scenario of scenarios) {
    for (const proxy of ['bare', ...scenario.proxies]) {
      const mine = runs.filter((r) => r.scenario === scenario.name && r.proxy === proxy);
      const paired = mine.map((r) => r.rps / r.bracket.rps);
      rows.push({
        scenario: scenario.name,
        body: scenario.body,
        proxy,
        label: entries[proxy].label,
        rps: median(mine.map((r) => r.rps)),
        p50Ms: median(mine.map((r) => r.p50Ms)),
        p99Ms: median(mine.map((r) => r.p99Ms)),
        peakRss: Math.max(...mine.map((r) => r.peakRss)),
        cpuUsPerRequest: median(mine.map((r) => r.cpuUsPerRequest)),
        proxyCoreBusy: median(mine.map((r) => r.proxyCoreBusy)),
        loadCoreBusy: median(mine.map((r) => r.loadCoreBusy)),
        foreignCpus: median(mine.map((r) => r.foreignCpus)),
        // Medians of per-round ratios against the bracketing bare runs (see the round loop).
        ratioToBare: median(paired),
        cpuRatioToBare: median(mine.map((r) => r.cpuUsPerRequest / r.bracket.cpuUsPerRequest)),
        p99LimitMs: median(mine.map((r) => p99Limit(r.bracket))),
        p99OverLimitMs: median(mine.map((r) => r.p99Ms - p99Limit(r.bracket))),
        rounds: proxy === 'bare' ? mine.map((r) => Math.round(r.rps)) : paired,
        non2xx: mine.reduce((s, r) => s + r.non2xx, 0),
        socketErrors: mine.reduce((s, r) => s + r.socketErrors, 0),
      });
    }
  }
  return rows;
}

/** Per round, `a`'s paired ratio over `b`'s (both against their own bare brackets); the median. */
function pairedRatio(runs, scenario, a, b) {
  const ratios = [];
  for (const ra of runs.filter((r) => r.scenario === scenario && r.proxy === a)) {
    const rb = runs.find((r) => r.scenario === scenario && r.proxy === b && r.round === ra.round);
    if (rb !== undefined) ratios.push(ra.rps / ra.bracket.rps / (rb.rps / rb.bracket.rps));
  }
  return median(ratios);
}

function evaluateTargets(summary, runs, flood) {
  const get = (scenario, proxy) => summary.find((r) => r.scenario === scenario && r.proxy === proxy);
  const targets = [];
  const add = (name, measured, pass) => targets.push({ name, measured, pass });
  // CPU per request is the steadier figure on a shared machine: req/s moves with what else runs.
  const cpu = (p) => `CPU per request ${fmt.ratio(p.cpuRatioToBare)} x bare's`;
  for (const [size, label] of [
    ['small', '~200 B'],
    ['large', '64 KiB'],
  ]) {
    const p = get(size, 'patgate');
    add(
      `warm-cache throughput >= 0.85 x bare${size === 'small' ? ' (aim 0.90)' : ''}, ${label}`,
      `${fmt.ratio(p.ratioToBare)} x (${cpu(p)})`,
      p.ratioToBare >= 0.85,
    );
  }
  for (const [size, label] of [
    ['small', '~200 B'],
    ['large', '64 KiB'],
  ]) {
    const p = get(size, 'patgate');
    const hp = get(size, 'http-proxy');
    const fa = get(size, 'fastify');
    add(
      `warm-cache throughput above node-http-proxy and @fastify/http-proxy (no auth), ${label}`,
      `${fmt.ratio(p.ratioToBare)} x bare vs ${fmt.ratio(hp.ratioToBare)} x / ${fmt.ratio(fa.ratioToBare)} x (${fmt.rps(p.rps)} vs ${fmt.rps(hp.rps)} / ${fmt.rps(fa.rps)} req/s)`,
      p.ratioToBare > hp.ratioToBare && p.ratioToBare > fa.ratioToBare,
    );
  }
  for (const [size, label] of [
    ['small', '~200 B'],
    ['large', '64 KiB'],
  ]) {
    const p = get(size, 'patgate');
    add(
      `p99 <= 1.5 x bare p99 + 1 ms, ${label}`,
      `${fmt.ms(p.p99Ms)} ms (limit ${fmt.ms(p.p99LimitMs)} ms; per round ${p.p99OverLimitMs <= 0 ? 'under' : 'over'} it by ${fmt.ms(Math.abs(p.p99OverLimitMs))} ms, median)`,
      p.p99OverLimitMs <= 0,
    );
  }
  const cold = get('small', 'patgate-cold');
  add(
    'cold cache (Redis lookup per request) >= 0.6 x bare',
    `${fmt.ratio(cold.ratioToBare)} x (${cpu(cold)}; ${fmt.ratio(pairedRatio(runs, 'small', 'patgate-cold', 'bare-tokens'))} x bare driven the same way)`,
    cold.ratioToBare >= 0.6,
  );
  const onCluster = get('small', 'patgate-cold-cluster');
  add(
    'cold cache on Redis Cluster (one script call in the owner slot per request), next to one Redis',
    `${fmt.ratio(onCluster.ratioToBare)} x bare (${cpu(onCluster)}); ${fmt.ratio(pairedRatio(runs, 'small', 'patgate-cold-cluster', 'patgate-cold'))} x the cold row on one Redis`,
    null,
  );
  const limitedRatio = pairedRatio(runs, 'small', 'patgate-rl', 'patgate');
  add(
    'warm, rate limits on ≥ 0.9 × warm without',
    `${fmt.ratio(limitedRatio)} x (CPU per request ${((get('small', 'patgate-rl').cpuUsPerRequest / get('small', 'patgate').cpuUsPerRequest - 1) * 100).toFixed(1)} %)`,
    limitedRatio >= 0.9,
  );
  const assertedRatio = pairedRatio(runs, 'small', 'patgate-ia', 'patgate');
  add(
    'warm, identity_assertion on (a signed JWT on every forwarded request), next to warm without',
    `${fmt.ratio(assertedRatio)} x (CPU per request ${((get('small', 'patgate-ia').cpuUsPerRequest / get('small', 'patgate').cpuUsPerRequest - 1) * 100).toFixed(1)} %)`,
    null,
  );
  const big = get('small', 'patgate-5k');
  const routeRatio = pairedRatio(runs, 'small', 'patgate-5k', 'patgate');
  add(
    '5,000 routes within 5 % of 20 routes',
    `${((routeRatio - 1) * 100).toFixed(1)} % (CPU per request ${((big.cpuUsPerRequest / get('small', 'patgate').cpuUsPerRequest - 1) * 100).toFixed(1)} %)`,
    routeRatio >= 0.95,
  );
  // An unbounded cache would grow RSS with every distinct token (~1 KB each); a bounded one holds
  // steady: the second half of the flood (as many new tokens again) must not lift the median.
  const bounded =
    flood.cacheEntries <= flood.maxEntries && flood.medianRssSecondHalf <= flood.medianRssFirstHalf * 1.15;
  add(
    `memory bounded by cache.max_entries under a flood of distinct tokens`,
    `cache ${flood.cacheEntries}/${flood.maxEntries} after ~${flood.distinctTokens.toLocaleString('en-US')} tokens; RSS median ${fmt.mb(flood.medianRssFirstHalf)} MB (1st half) / ${fmt.mb(flood.medianRssSecondHalf)} MB (2nd half), peak ${fmt.mb(flood.peakRss)} MB`,
    bounded,
  );
  const dirty = summary.filter((r) => r.non2xx > 0 || r.socketErrors > 0);
  add(
    'every measured response a 200 (warm/cold runs)',
    dirty.length === 0
      ? 'yes'
      : dirty
          .map((r) => `${r.scenario}/${r.proxy}: ${r.non2xx} non-2xx, ${r.socketErrors} errors`)
          .join('; '),
    dirty.length === 0,
  );
  return targets;
}

/** What to read the targets against: the harness's own bias, and what Hono alone costs. */
function contextLines(summary) {
  const get = (scenario, proxy) => summary.find((r) => r.scenario === scenario && r.proxy === proxy);
  const both = (proxy) =>
    ['small', 'large']
      .map(
        (size) => `${fmt.ratio(get(size, proxy).ratioToBare)} x (${size === 'small' ? '~200 B' : '64 KiB'})`,
      )
      .join(', ');
  return [
    `Harness control: a second bare process, measured as a candidate: ${both('bare-twin')}. A ratio is only as exact as this is close to 1.00.`,
    `Hono + @hono/node-server in front of the floor, no auth: ${both('hono')}; patgate, with auth, no Hono: ${both('patgate')}.`,
  ];
}

function render(meta, summary, targets, flood, context) {
  const header = [
    'scenario',
    'proxy',
    'req/s',
    'p50 ms',
    'p99 ms',
    'peak RSS MB',
    'CPU µs/req',
    'x bare',
    'CPU x bare',
    'x bare by round (bare: req/s)',
    'busy: proxy / load core',
    'foreign CPU',
  ];
  const rows = summary.map((r) => [
    `${r.scenario} (${r.body})`,
    r.label,
    fmt.rps(r.rps),
    fmt.ms(r.p50Ms),
    fmt.ms(r.p99Ms),
    fmt.mb(r.peakRss),
    r.cpuUsPerRequest.toFixed(1),
    fmt.ratio(r.ratioToBare),
    fmt.ratio(r.cpuRatioToBare),
    r.rounds.map((v) => (r.proxy === 'bare' ? String(v) : fmt.ratio(v))).join(' / '),
    `${pct(r.proxyCoreBusy)} / ${pct(r.loadCoreBusy)}`,
    r.foreignCpus.toFixed(2),
  ]);
  rows.push([
    'flood (distinct tokens, 3/4 unknown)',
    `patgate, cache.max_entries ${flood.maxEntries}`,
    fmt.rps(flood.rps),
    fmt.ms(flood.p50Ms),
    fmt.ms(flood.p99Ms),
    fmt.mb(flood.peakRss),
    flood.cpuUsPerRequest.toFixed(1),
    '-',
    '-',
    '(3/4 answered 401 by design)',
    '-',
    flood.foreignCpus.toFixed(2),
  ]);
  const tHeader = ['target', 'measured', 'result'];
  const tRows = targets.map((t) => [t.name, t.measured, verdict(t.pass)]);
  const setup = `${meta.date} · commit ${meta.commit} · Node ${meta.node} · ${meta.cpus} CPUs · ${meta.pinning} · ${meta.driver}, ${meta.connections} connections, keep-alive · upstream ${meta.upstream} · runtime: ${meta.runtime} · ${meta.rounds} rounds of ${meta.durationS} s runs (each after ${meta.warmupS} s warm-up), every run between two runs of the bare proxy; "x bare" is the median over rounds of req/s ÷ the mean of those two, req/s and latencies are medians${meta.quick ? ' · QUICK' : ''} · ${meta.runtimeS} s total`;
  const text = `${setup}\n\n${textTable(header, rows)}\n\n${textTable(tHeader, tRows)}\n\n${context.join('\n')}\n`;
  const markdown = `# patgate benchmark\n\n${setup}\n\n${markdownTable(header, rows)}\n\n${markdownTable(tHeader, tRows)}\n\n${context.map((line) => `- ${line}`).join('\n')}\n`;
  return { text, markdown };
}

/** A target's result; `null`: a row reported as measured, with no pass mark (issue 15's). */
function verdict(pass) {
  return pass === null ? 'reported' : pass ? 'PASS' : 'FAIL';
}

/** What the deploy and workers rows share with the rest of the run: its load, rounds and timings. */
function deployOptions({ groups, common, driver, layout, token }) {
  return {
    groups,
    common,
    driver,
    layout,
    token,
    path: SMALL_PATH,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    primeS: PRIME_S.small,
    retries: RETRIES,
    quietWaitMs: QUIET_WAIT_MS,
    nginxAvailable: nginxAvailable(),
  };
}

function pct(v) {
  return Number.isFinite(v) ? `${Math.round(v * 100)} %` : '-';
}

function gitCommit() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
