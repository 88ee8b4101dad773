// A/B of two patgate builds under the warm-cache load of `npm run bench` (the bare proxy alongside
// as the floor): many short alternating rounds, medians of req/s and of CPU per request, and the
// median of the per-round ratio b/a (a and b run back to back, so drift on a shared machine hits
// both alike). CPU per request is the steadier figure there.
//
// `--workers N`: b runs with `workers: N` (a primary and N workers), from b's build or, without
// --b, from a's; it may use every CPU, the load generator's too (which stays pinned where it
// is), while a keeps the proxy core to itself. CPU per request counts the primary and every
// worker: on a 2-core machine the load generator competes with b, and that is the fairer figure.
//
// `--rate-limits` / `--identity-assertion`: b runs with that feature on (as in the bench's rows),
// from b's build or, without --b, from a's: what the feature costs, paired.
//
//   node bench/compare.mjs --b /path/to/other/dist/src [--a dist/src] [--rounds 10] [--duration 3]
//                          [--cold] [--large] [--workers N] [--rate-limits] [--identity-assertion]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyRuntime } from './lib/image-runtime.mjs';
import { drive, pickDriver } from './lib/load.mjs';
import { seedTokens, startPatgate } from './lib/patgate.mjs';
import {
  cpuLayout,
  foreignCpu,
  freePort,
  pinSelf,
  procCpuUs,
  selfAndChildrenCpuUs,
  start,
  stop,
  treeCpuUs,
  waitForPort,
} from './lib/procs.mjs';
import { startPrivateRedis } from './lib/redis.mjs';
import { fmt, median, textTable } from './lib/stats.mjs';
import { startUpstream } from './lib/upstream.mjs';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: fileURLToPath(new URL('../dist/src/', import.meta.url)) },
    b: { type: 'string' },
    rounds: { type: 'string', default: '10' },
    duration: { type: 'string', default: '3' },
    cold: { type: 'boolean', default: false },
    large: { type: 'boolean', default: false },
    workers: { type: 'string' },
    'rate-limits': { type: 'boolean', default: false },
    'identity-assertion': { type: 'boolean', default: false },
  },
});
const B_FEATURES = { rateLimits: args['rate-limits'], identityAssertion: args['identity-assertion'] };
const B_DIFFERS = args.workers !== undefined || B_FEATURES.rateLimits || B_FEATURES.identityAssertion;
if (args.b === undefined && !B_DIFFERS) {
  process.stderr.write(
    'usage: node bench/compare.mjs --b OTHER_DIST_SRC [--a DIST_SRC] [--rounds N] [--workers N] [--rate-limits] [--identity-assertion]\n',
  );
  process.exit(2);
}
const B_WORKERS = args.workers === undefined ? 1 : Number(args.workers);
const bFeatures = () =>
  [
    B_WORKERS > 1 ? ` (workers: ${B_WORKERS})` : '',
    B_FEATURES.rateLimits ? ' (rate limits on)' : '',
    B_FEATURES.identityAssertion ? ' (identity_assertion on)' : '',
  ].join('');
const B_DIST = args.b ?? args.a;
// Every process runs with the allocator settings and node flags the image ships, as in bench/run.mjs.
const NODE_FLAGS = applyRuntime('image');
const PATH = args.large ? '/repos/acme/api/contents/assets/large.bin' : '/repos/acme/api/issues/1347';
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);

const layout = cpuLayout();
pinSelf(layout);
const driver = pickDriver();
const work = await mkdtemp(join(tmpdir(), 'patgate-compare-'));
const redis = await startPrivateRedis();
const upstream = await startUpstream();
const stops = [];
try {
  const tokens = await seedTokens(redis.url, args.cold ? 20_000 : 1);
  const tokenFile = join(work, 'tokens.txt');
  await writeFile(tokenFile, `${tokens.join('\n')}\n`);
  const port = await freePort();
  const bare = start(
    process.execPath,
    [
      ...NODE_FLAGS,
      fileURLToPath(new URL('./proxies/bare.mjs', import.meta.url)),
      String(port),
      upstream.url,
    ],
    { core: layout.proxyCore },
  );
  await waitForPort(port);
  stops.push(() => stop(bare));
  const targets = { bare: { url: `http://127.0.0.1:${port}`, pid: bare.pid } };
  const everyCpu = layout.pinned ? Array.from({ length: layout.cpus }, (_, i) => i).join(',') : null;
  for (const [name, distDir, workers] of [
    ['a', resolve(args.a), 1],
    ['b', resolve(B_DIST), B_WORKERS],
  ]) {
    const pg = await startPatgate({
      dir: work,
      name,
      upstreamUrl: upstream.url,
      redisUrl: redis.url,
      routes: 20,
      maxEntries: args.cold ? 1_000 : 100_000,
      core: workers > 1 ? everyCpu : layout.proxyCore,
      distDir,
      nodeArgs: NODE_FLAGS,
      workers,
      ...(name === 'b' ? B_FEATURES : {}),
    });
    stops.push(pg.stop);
    targets[name] = { url: pg.url, pid: pg.pid };
  }
  const load = (name) => ({
    driver,
    url: targets[name].url + PATH,
    connections: 64,
    ...(args.cold && name !== 'bare' ? { tokenFile } : { token: tokens[0] }),
  });
  for (const name of Object.keys(targets)) await drive({ ...load(name), durationS: 3 });
  const runs = { bare: [], a: [], b: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['a', 'b', 'bare'] : ['b', 'a', 'bare'];
    for (const name of order) {
      await drive({ ...load(name), durationS: 1 });
      const cpu0 = treeCpuUs(targets[name].pid);
      const foreign = foreignCpu();
      const began = performance.now();
      const waited0 = selfAndChildrenCpuUs() - procCpuUs(process.pid);
      const result = await drive({ ...load(name), durationS: DURATION_S });
      const cpuUsPerRequest = (treeCpuUs(targets[name].pid) - cpu0) / result.requests;
      // The load generator has exited by now: its CPU is no longer in this process tree, but in
      // this process's waited-for children's, which `foreignCpu` does not see.
      const loadCpus =
        (selfAndChildrenCpuUs() - procCpuUs(process.pid) - waited0) / ((performance.now() - began) * 1000);
      runs[name].push({ ...result, cpuUsPerRequest, foreign: Math.max(0, foreign.end() - loadCpus) });
      process.stderr.write(
        `  r${round + 1} ${name.padEnd(4)} ${fmt.rps(result.rps).padStart(7)} req/s  ${cpuUsPerRequest.toFixed(1)} µs CPU/req${result.non2xx > 0 ? `  ${result.non2xx} not 2xx` : ''}\n`,
      );
    }
  }
  const paired = runs.a.map((ra, i) => runs.b[i].cpuUsPerRequest / ra.cpuUsPerRequest).sort((x, y) => x - y);
  const q = (f) => paired[Math.min(paired.length - 1, Math.floor(f * paired.length))];
  const bareCpu = median(runs.bare.map((r) => r.cpuUsPerRequest));
  const rows = Object.entries(runs).map(([name, rs]) => {
    const cpu = median(rs.map((r) => r.cpuUsPerRequest));
    return [
      name === 'bare'
        ? 'bare proxy'
        : `${name}: ${name === 'a' ? args.a : B_DIST}${name === 'b' ? bFeatures() : ''}`,
      fmt.rps(median(rs.map((r) => r.rps))),
      cpu.toFixed(1),
      fmt.ratio(cpu / bareCpu),
      fmt.ms(median(rs.map((r) => r.p99Ms))),
    ];
  });
  process.stdout.write(
    `\n${args.cold ? 'cold cache' : 'warm cache'}, ${args.large ? '64 KiB' : '~200 B'}, ${driver}, median of ${ROUNDS} rounds of ${DURATION_S} s\n\n${textTable(['build', 'req/s', 'CPU µs/req', 'CPU x bare', 'p99 ms'], rows)}\n\nCPU per request, b / a, paired by round: median ${fmt.ratio(median(paired))} (quartiles ${fmt.ratio(q(0.25))} - ${fmt.ratio(q(0.75))})\nCPU used by other work on the machine during the runs (in CPUs, median): ${median(
      Object.values(runs)
        .flat()
        .map((r) => r.foreign),
    ).toFixed(2)}\n`,
  );
} finally {
  for (const fn of stops) await fn();
  await upstream.stop();
  await redis.stop();
  await rm(work, { recursive: true, force: true });
}
