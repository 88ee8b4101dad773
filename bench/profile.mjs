// CPU profile of a proxy under the warm-cache load of `npm run bench` (node --cpu-prof), summarised:
// top self-time functions, time per package, inclusive time of the pipeline's steps, CPU per request.
//
//   npm run build && node bench/profile.mjs [--target patgate|decision|bare|http-proxy|fastify] [--duration S]
//                                          [--large] [--cold] [--keep] [--dist OTHER/dist/src]
//                                          [--no-write]
// --target decision: patgate's decision listener, asked as nginx's auth_request asks (GET /nginx).
// --cold: every request a different token (cache.max_entries 1,000 over 20,000 tokens): Redis on the path.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyse } from './lib/cpuprofile.mjs';
import { applyRuntime } from './lib/image-runtime.mjs';
import { drive, pickDriver } from './lib/load.mjs';
import { seedTokens, startPatgate } from './lib/patgate.mjs';
import { cpuLayout, freePort, pinSelf, procCpuUs, start, stop, waitForPort } from './lib/procs.mjs';
import { startPrivateRedis } from './lib/redis.mjs';
import { markdownTable } from './lib/stats.mjs';
import { startUpstream } from './lib/upstream.mjs';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'patgate' },
    duration: { type: 'string', default: '10' },
    large: { type: 'boolean', default: false },
    cold: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
    // Another build's dist/src (as in bench/compare.mjs), to profile a change before it lands.
    dist: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
// Every process runs with the allocator settings and node flags the image ships, as in bench/run.mjs.
const NODE_FLAGS = applyRuntime('image');
const PATH = args.large ? '/repos/acme/api/contents/assets/large.bin' : '/repos/acme/api/issues/1347';
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const BENCH = fileURLToPath(new URL('./', import.meta.url));
// Steps of the request path whose inclusive share is worth knowing (matched as substrings).
const STEPS = [
  'getRequestListener',
  'dispatch ',
  'handle src/gateway/pipeline.js',
  '#handle src/gateway/pipeline.js',
  '#forward src/gateway/pipeline.js',
  'readRequest',
  'checkTarget',
  'match src/routes',
  'lookup src/routes/trie.js',
  'extractCredential',
  'parseToken',
  'hashToken',
  'peek src/store',
  'decide src/grants',
  'upstreamRequestHeaders',
  'BodyIntake',
  'filterResponseHeaders',
  'forward src/proxy/upstream.js',
  'inc prom-client',
  'observe prom-client',
  'note src/gateway/last-used.js',
  'writeHead',
  'onResponseData',
  'load src/store/cached-grant-store.js',
  'lookup src/store/redis-store.js',
  'deepFreeze',
  'parseJson',
  'sendCommand ioredis',
  'returnReply ioredis',
];

async function main() {
  const layout = cpuLayout();
  pinSelf(layout);
  const driver = pickDriver();
  const work = await mkdtemp(join(tmpdir(), 'patgate-profile-'));
  const profDir = join(work, 'prof');
  await mkdir(profDir);
  const redis = await startPrivateRedis();
  const upstream = await startUpstream();
  let target;
  try {
    const tokens = await seedTokens(redis.url, args.cold ? 20_000 : 1);
    const token = tokens[0];
    const tokenFile = join(work, 'tokens.txt');
    await writeFile(tokenFile, `${tokens.join('\n')}\n`);
    if (args.target === 'patgate' || args.target === 'decision') {
      target = await startPatgate({
        decision: args.target === 'decision',
        dir: work,
        name: 'patgate',
        upstreamUrl: upstream.url,
        redisUrl: redis.url,
        routes: 20,
        maxEntries: args.cold ? 1_000 : 100_000,
        core: layout.proxyCore,
        cpuProfDir: profDir,
        nodeArgs: NODE_FLAGS,
        ...(args.dist === undefined ? {} : { distDir: resolve(args.dist) }),
      });
    } else {
      const port = await freePort();
      const script = join(BENCH, 'proxies', `${args.target}.mjs`);
      const child = start(
        process.execPath,
        [...NODE_FLAGS, '--cpu-prof', '--cpu-prof-dir', profDir, script, String(port), upstream.url],
        {
          core: layout.proxyCore,
        },
      );
      await waitForPort(port, 15_000, child);
      target = { url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => stop(child) };
    }
    const asked =
      args.target === 'decision'
        ? {
            url: `${target.decisionUrl}/nginx`,
            headers: { 'x-original-method': 'GET', 'x-original-uri': PATH },
          }
        : { url: target.url + PATH };
    const load = args.cold
      ? { driver, ...asked, connections: 64, tokenFile }
      : { driver, ...asked, connections: 64, token };
    await drive({ ...load, durationS: 2 });
    const cpuBefore = procCpuUs(target.pid);
    const result = await drive({ ...load, durationS: Number(args.duration) });
    const cpuUsPerRequest = (procCpuUs(target.pid) - cpuBefore) / result.requests;
    await target.stop();
    target = undefined;
    const [file] = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
    if (file === undefined)
      throw new Error('no .cpuprofile written (did the process exit cleanly on SIGTERM?)');
    const profile = JSON.parse(await readFile(join(profDir, file), 'utf8'));
    const a = analyse(profile);
    const top = Number(args.top);
    const pct = (v) => `${v.toFixed(1)} %`;
    const variant = `${args.target}${args.cold ? '-cold' : ''}${args.large ? '-large' : ''}`;
    const title = `${variant}, ${args.cold ? 'cold cache (new token per request), ' : ''}${args.large ? '64 KiB' : '~200 B'} responses, ${driver} 64 connections, ${args.duration} s: ${Math.round(result.rps).toLocaleString('en-US')} req/s, ${cpuUsPerRequest.toFixed(1)} µs CPU per request (process total, incl. GC and I/O)`;
    const steps = STEPS.flatMap((s) => {
      const hits = a.inclusive.filter((f) => f.name.includes(s)).slice(0, 1);
      return hits.map((f) => [s.trim(), f.name, pct(f.pctBusy), (cpuUsPerRequest * f.pctBusy) / 100]);
    });
    const md = [
      `# CPU profile: ${title}`,
      '',
      `Share of busy (non-idle) samples; ${a.busyMs.toFixed(0)} ms busy of ${a.totalMs.toFixed(0)} ms profiled. µs/req = share × CPU per request.`,
      '',
      '## By package',
      '',
      markdownTable(
        ['package', 'self', 'µs/req'],
        a.selfByCategory
          .slice(0, 20)
          .map((c) => [c.name, pct(c.pctBusy), ((cpuUsPerRequest * c.pctBusy) / 100).toFixed(2)]),
      ),
      '',
      `## Top ${top} functions by self time`,
      '',
      markdownTable(
        ['function', 'self', 'µs/req'],
        a.selfByFunction
          .slice(0, top)
          .map((f) => [`\`${f.name}\``, pct(f.pctBusy), ((cpuUsPerRequest * f.pctBusy) / 100).toFixed(2)]),
      ),
      '',
      '## Inclusive time of request-path steps',
      '',
      markdownTable(
        ['step', 'function', 'inclusive', 'µs/req'],
        steps.map(([s, f, p, us]) => [s, `\`${f}\``, p, us.toFixed(2)]),
      ),
      '',
    ].join('\n');
    process.stdout.write(`${md}\n`);
    if (!args['no-write']) {
      const out = join(RESULTS, `profile-${variant}.md`);
      await writeFile(out, md);
      process.stderr.write(`written: ${out}\n`);
    }
    if (args.keep) {
      const keep = join(args['no-write'] ? tmpdir() : RESULTS, `${variant}.cpuprofile`);
      await writeFile(keep, JSON.stringify(profile));
      process.stderr.write(`kept: ${keep} (open in Chrome DevTools > Performance)\n`);
    }
  } finally {
    if (target) await target.stop();
    await upstream.stop();
    await redis.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`profile failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
