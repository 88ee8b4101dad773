// Instructions per request under `valgrind --tool=callgrind`: a count that does not move with the
// rest of the machine, for comparing builds of the request path on a shared, noisy host where
// req/s and CPU time do not hold still. Each proxy runs under callgrind; after a warm-up its
// counters are zeroed, a fixed number of warm-cache requests is sent, and the counters dumped.
// Kernel time (the syscalls behind writev) is not counted: compare syscall counts separately.
//
//   npm run build && node bench/instructions.mjs [--requests 3000] [--warmup 3000]
//                                                [--concurrency 8] [--dist OTHER/dist/src ...]
//                                                [--bare] [--only-dist] [--env NAME=VALUE ...]
// Every `--dist` is measured beside this build's dist/src; `--bare` adds the floor proxy.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { applyRuntime } from './lib/image-runtime.mjs';
import { KEY_PREFIX, seedTokens } from './lib/patgate.mjs';
import { freePort, hasCommand, waitForPort } from './lib/procs.mjs';
import { startPrivateRedis } from './lib/redis.mjs';
import { patgateConfig, routeMap } from './lib/routes.mjs';
import { markdownTable } from './lib/stats.mjs';
import { startUpstream } from './lib/upstream.mjs';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '8' },
    dist: { type: 'string', multiple: true, default: [] },
    bare: { type: 'boolean', default: false },
    // Only the `--dist` builds, not this one (several runs side by side).
    'only-dist': { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
  },
});
if (!hasCommand('valgrind', ['--version'])) throw new Error('valgrind is not installed');
const NODE_FLAGS = applyRuntime('image');
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const CONCURRENCY = Number(args.concurrency);
const PATH = '/repos/acme/api/issues/1347';
const HERE = fileURLToPath(new URL('../dist/src/', import.meta.url));
const EXTRA_ENV = Object.fromEntries(args.env.map((pair) => pair.split(/=(.*)/s).slice(0, 2)));

const work = await mkdtemp(join(tmpdir(), 'patgate-instructions-'));
const redis = await startPrivateRedis();
const upstream = await startUpstream();
const [token] = await seedTokens(redis.url, 1);
const rows = [];
try {
  const targets = [
    ...(args['only-dist'] ? [] : [{ name: 'this build', dist: HERE }]),
    ...args.dist.map((d) => ({ name: d, dist: resolve(d) })),
  ];
  if (args.bare)
    rows.push(
      await measure('bare', (port) => [
        fileURLToPath(new URL('./proxies/bare.mjs', import.meta.url)),
        String(port),
        upstream.url,
      ]),
    );
  for (const target of targets) {
    rows.push(
      await measure(target.name, async (port, adminPort) => {
        const config = patgateConfig({
          listen: `127.0.0.1:${port}`,
          adminListen: `127.0.0.1:${adminPort}`,
          upstreamUrl: upstream.url,
          redisUrl: redis.url,
          routes: routeMap(20),
          maxEntries: 10_000,
          prefix: KEY_PREFIX,
        });
        // Under valgrind a first lookup takes far longer than the production timeout.
        config.store.command_timeout_ms = 30_000;
        const file = join(work, `${rows.length}.json`);
        await writeFile(file, JSON.stringify(config));
        return [join(target.dist, 'main.js'), 'serve', '--config', file];
      }),
    );
  }
  const base = rows.find((r) => r.name === 'bare');
  console.log(
    `# Instructions per request (callgrind), ~200 B, warm cache, ${REQUESTS} requests after ${WARMUP}, ${CONCURRENCY} concurrent\n`,
  );
  console.log(
    markdownTable(
      ['proxy', 'instructions/request', 'x bare'],
      rows.map((r) => [
        r.name,
        Math.round(r.perRequest).toLocaleString('en-US'),
        base ? (r.perRequest / base.perRequest).toFixed(2) : '-',
      ]),
    ),
  );
} finally {
  await upstream.stop();
  await redis.stop();
  await rm(work, { recursive: true, force: true });
}

async function measure(name, argvFor) {
  const port = await freePort();
  const adminPort = await freePort();
  const script = await argvFor(port, adminPort);
  const out = join(work, `callgrind.${rows.length}.out`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      process.execPath,
      ...NODE_FLAGS,
      ...script,
    ],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, PATGATE_LOG_LEVEL: 'info', ...EXTRA_ENV },
    },
  );
  try {
    await waitForPort(port, 900_000, child);
    const dispatcher = new Agent({ connections: CONCURRENCY });
    await drive(port, WARMUP, dispatcher, false);
    control(child.pid, '--zero');
    await drive(port, REQUESTS, dispatcher);
    control(child.pid, '--dump');
    await dispatcher.close();
    const dumps = (await readdir(work)).filter((f) => f.startsWith(`callgrind.${rows.length}.out.`));
    const text = await readFile(join(work, dumps.sort().at(-1)), 'utf8');
    const m = /^(?:summary|totals): (\d+)/m.exec(text);
    if (m === null) throw new Error(`${name}: no totals in the callgrind dump`);
    return { name, perRequest: Number(m[1]) / REQUESTS };
  } finally {
    child.kill('SIGKILL');
  }
}

function control(pid, flag) {
  const result = spawnSync('callgrind_control', [flag, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`callgrind_control ${flag}: ${result.stderr}`);
}

async function drive(port, count, dispatcher, strict = true) {
  let next = 0;
  const one = async () => {
    while (next < count) {
      next++;
      const res = await request(`http://127.0.0.1:${port}${PATH}`, {
        dispatcher,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      await res.body.dump();
      if (strict && res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, one));
}
