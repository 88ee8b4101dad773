// The rows of issue 15 ("Deploy anywhere"): nginx alone vs nginx + auth_request to patgate's
// decision listener, the decision listener alone, and `workers: 2` vs `workers: 1`. Each pair is
// measured in alternating rounds (A B, then B A, ...) in the same run, so that the shared machine's
// slow swings hit both sides of a ratio alike; a ratio is the median of the per-round ratios.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drive } from './load.mjs';
import { startPatgate } from './patgate.mjs';
import {
  foreignCpu,
  freePort,
  pauseAllBut,
  start,
  stop,
  treeCpuUs,
  waitForPort,
  waitForQuiet,
} from './procs.mjs';
import { fmt, markdownTable, median, textTable } from './stats.mjs';
import { nginxBinary } from './upstream.mjs';

/** What `--only` may name: the groups of rows this file adds. */
export const DEPLOY_GROUPS = ['deploy', 'workers'];

/** The example that CI runs against real nginx (test/integration/deploy-nginx.test.ts). */
const NGINX_EXAMPLE = fileURLToPath(new URL('../../deploy/nginx/nginx.conf', import.meta.url));
const FOREIGN_LIMIT = 0.15;
const log = (line) => process.stderr.write(`${line}\n`);

/**
 * nginx in front of the upstream with the shipped example config, only its addresses changed:
 * with `decisionUrl`, asking patgate on every request (auth_request); without, the same file less
 * its `auth_request` and `error_page` lines: nginx as a plain reverse proxy, the baseline (the
 * `auth_request_set` variables it keeps stay empty, and nginx sends no empty header). One process
 * (`master_process off`), so that its pid is the whole of its CPU and can be paused.
 */
export async function startNginxFront({ dir, name, upstreamUrl, decisionUrl, core }) {
  const port = await freePort();
  const prefix = join(dir, name);
  await mkdir(prefix, { recursive: true });
  let conf = await readFile(NGINX_EXAMPLE, 'utf8');
  const replace = (from, to) => {
    if (!conf.includes(from)) throw new Error(`deploy/nginx/nginx.conf no longer holds "${from}"`);
    conf = conf.replace(from, to);
  };
  replace('server 127.0.0.1:9000;', `server ${new URL(upstreamUrl).host};`);
  replace('listen 127.0.0.1:8000;', `listen 127.0.0.1:${port};`);
  if (decisionUrl === undefined) {
    replace('server 127.0.0.1:8082;', 'server 127.0.0.1:9;');
    conf = conf
      .split('\n')
      .filter((line) => !/^\s*(auth_request|error_page)\s/.test(line))
      .join('\n');
  } else {
    replace('server 127.0.0.1:8082;', `server ${new URL(decisionUrl).host};`);
  }
  // A load generator's connection is closed after 1,000 requests by default (a reconnect per
  // 1,000 would be measured); the bench's upstream nginx sets the same.
  replace('access_log off;', 'access_log off;\n  keepalive_requests 10000000;');
  const confPath = join(prefix, 'nginx.conf');
  await writeFile(confPath, conf);
  const child = start(
    nginxBinary(),
    [
      '-p',
      prefix,
      '-c',
      confPath,
      '-e',
      join(prefix, 'error.log'),
      '-g',
      `daemon off; master_process off; pid ${prefix}/nginx.pid;`,
    ],
    { core },
  );
  await waitForPort(port, 10_000, child);
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    child,
    async stop() {
      await stop(child);
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

/** Every process under `root` (itself included), read from /proc: a `workers: N` primary and its workers. */
function treePids(root) {
  const children = new Map();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (!children.has(ppid)) children.set(ppid, []);
        children.get(ppid).push(Number(entry));
      } catch {
        // Gone between the listing and the read.
      }
    }
  } catch {
    return [root];
  }
  const pids = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    pids.push(pid);
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return pids;
}

/**
 * One measured run of `target` ({ load, pids }): waits for a quiet machine, warms up, then drives
 * for `durationS` and reads the CPU of every process of the target (nginx and patgate together
 * for nginx + auth_request, a primary and its workers). Redone up to `retries` times when other
 * work took more than FOREIGN_LIMIT CPUs; the cleanest kept.
 */
async function measure(target, { durationS, warmupS, retries, quietWaitMs }) {
  let best;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    await drive({ ...target.load, durationS: warmupS });
    await waitForQuiet({ threshold: FOREIGN_LIMIT, maxWaitMs: quietWaitMs });
    const cpu = () => target.pids.reduce((sum, pid) => sum + treeCpuUs(pid), 0);
    const cpu0 = cpu();
    const foreign = foreignCpu();
    let foreignCpus = Number.NaN;
    // Read before the load generator exits: its CPU counts as ours only while it is alive.
    const timer = setTimeout(
      () => {
        foreignCpus = foreign.end();
      },
      durationS * 1000 - 150,
    );
    const result = await drive({ ...target.load, durationS });
    clearTimeout(timer);
    const run = { ...result, cpuUsPerRequest: (cpu() - cpu0) / result.requests, foreignCpus };
    if (best === undefined || !(run.foreignCpus >= best.foreignCpus)) best = run;
    if (!(run.foreignCpus >= FOREIGN_LIMIT)) break;
  }
  return best;
}

/**
 * Alternating rounds of the named targets; every other target's processes are stopped (SIGSTOP)
 * while one is measured, so that it has its cores to itself. Returns the runs per target.
 */
async function rounds(targets, names, options) {
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  const everyPid = () => names.flatMap((name) => targets[name].pids.flatMap(treePids));
  const only = async (name, fn) => {
    const mine = new Set(targets[name].pids.flatMap(treePids));
    const resume = pauseAllBut(
      everyPid().filter((pid) => !mine.has(pid)),
      null,
    );
    try {
      return await fn();
    } finally {
      resume();
    }
  };
  for (const name of names) {
    await only(name, () => drive({ ...targets[name].load, durationS: options.primeS }));
  }
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const run = await only(name, () => measure(targets[name], options));
      log(
        `  ${name.padEnd(22)} r${round + 1} ${fmt.rps(run.rps).padStart(8)} req/s  p50 ${fmt.ms(run.p50Ms)} ms  p99 ${fmt.ms(run.p99Ms)} ms  ${run.cpuUsPerRequest.toFixed(1)} µs CPU/req  foreign ${run.foreignCpus.toFixed(2)} CPU${run.non2xx + run.socketErrors > 0 ? `  (non-2xx ${run.non2xx}, socket errors ${run.socketErrors})` : ''}`,
      );
      runs[name].push(run);
    }
  }
  return runs;
}

function summary(name, label, runs, base) {
  const mine = runs[name];
  const byRound = base === undefined ? [] : mine.map((r, i) => r.rps / runs[base][i].rps);
  const cpuByRound =
    base === undefined ? [] : mine.map((r, i) => r.cpuUsPerRequest / runs[base][i].cpuUsPerRequest);
  return {
    name,
    label,
    rps: median(mine.map((r) => r.rps)),
    p50Ms: median(mine.map((r) => r.p50Ms)),
    p99Ms: median(mine.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(mine.map((r) => r.cpuUsPerRequest)),
    foreignCpus: median(mine.map((r) => r.foreignCpus)),
    base: base ?? null,
    ratio: base === undefined ? null : median(byRound),
    cpuRatio: base === undefined ? null : median(cpuByRound),
    byRound,
    non2xx: mine.reduce((s, r) => s + r.non2xx, 0),
    socketErrors: mine.reduce((s, r) => s + r.socketErrors, 0),
  };
}

/** Answers `expected` for `request`, or throws: nothing is measured that does not do its job. */
async function expectStatus(what, url, init, expected) {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  if (res.status !== expected)
    throw new Error(`${what}: ${url} answered ${res.status}, expected ${expected}`);
}

/**
 * Runs the groups asked for (`deploy`: nginx alone / nginx + auth_request / the decision listener
 * alone; `workers`: workers 2 vs 1) and returns their rows. `layout`: the CPU layout of run.mjs;
 * the load generator stays on the load core for every row.
 */
export async function runDeployRows({
  groups,
  common,
  driver,
  layout,
  token,
  path,
  connections,
  rounds: roundCount,
  durationS,
  warmupS,
  primeS,
  retries,
  quietWaitMs,
  nginxAvailable,
}) {
  const options = { rounds: roundCount, durationS, warmupS, primeS, retries, quietWaitMs };
  const load = (url, headers) => ({ driver, url, connections, token, headers });
  const rows = [];
  const stops = [];
  const result = { rows, skipped: [], nginx: null, ceiling: null, decision: null, workers: null };
  try {
    if (groups.includes('deploy')) {
      const pg = await startPatgate({
        ...common,
        name: 'patgate-decision',
        routes: 20,
        maxEntries: 100_000,
        decision: true,
      });
      stops.push(pg.stop);
      // The decision listener alone: what nginx's subrequest asks, from the load generator.
      const decisionLoad = load(`${pg.decisionUrl}/nginx`, {
        'x-original-method': 'GET',
        'x-original-uri': path,
      });
      await expectStatus(
        'decision listener',
        decisionLoad.url,
        { headers: { ...decisionLoad.headers, authorization: `Bearer ${token}` } },
        200,
      );
      await expectStatus(
        'decision listener without a token',
        decisionLoad.url,
        { headers: decisionLoad.headers },
        401,
      );
      const targets = { decision: { load: decisionLoad, pids: [pg.pid] } };
      const names = [];
      if (nginxAvailable) {
        const alone = await startNginxFront({
          dir: common.dir,
          name: 'nginx-alone',
          upstreamUrl: common.upstreamUrl,
          core: layout.proxyCore,
        });
        stops.push(alone.stop);
        const front = await startNginxFront({
          dir: common.dir,
          name: 'nginx-auth',
          upstreamUrl: common.upstreamUrl,
          decisionUrl: pg.decisionUrl,
          core: layout.proxyCore,
        });
        stops.push(front.stop);
        const auth = { headers: { authorization: `Bearer ${token}` } };
        await expectStatus('nginx alone', alone.url + path, auth, 200);
        await expectStatus('nginx + auth_request', front.url + path, auth, 200);
        // The baseline is not a patgate in disguise, and the candidate really asks patgate.
        await expectStatus('nginx alone without a token', alone.url + path, {}, 200);
        await expectStatus('nginx + auth_request without a token', front.url + path, {}, 401);
        // The ceiling of any decision service in Node: nginx asking a node:http server that answers
        // 200 at once, on the same core. What patgate's decision costs is the gap to this row.
        const allowAllPort = await freePort();
        const allowAll = start(
          process.execPath,
          [
            ...common.nodeArgs,
            fileURLToPath(new URL('../proxies/allow-all.mjs', import.meta.url)),
            String(allowAllPort),
          ],
          { core: layout.proxyCore },
        );
        stops.push(() => stop(allowAll));
        await waitForPort(allowAllPort, 10_000, allowAll);
        const ceiling = await startNginxFront({
          dir: common.dir,
          name: 'nginx-allow-all',
          upstreamUrl: common.upstreamUrl,
          decisionUrl: `http://127.0.0.1:${allowAllPort}`,
          core: layout.proxyCore,
        });
        stops.push(ceiling.stop);
        await expectStatus('nginx + auth_request to allow-all', ceiling.url + path, auth, 200);
        targets['nginx alone'] = { load: load(alone.url + path), pids: [alone.pid] };
        // nginx and the patgate it asks share the proxy core: the same CPU budget as nginx alone.
        targets['nginx + auth_request'] = { load: load(front.url + path), pids: [front.pid, pg.pid] };
        targets['nginx + allow-all'] = { load: load(ceiling.url + path), pids: [ceiling.pid, allowAll.pid] };
        names.push('nginx alone', 'nginx + auth_request', 'nginx + allow-all');
      } else {
        result.skipped.push(
          'nginx alone vs nginx + auth_request: no nginx installed (apt-get install nginx-light)',
        );
      }
      names.push('decision');
      log(`deploy rows: ${names.join(', ')} (${roundCount} rounds of ${durationS} s)...`);
      const runs = await rounds(targets, names, options);
      if (nginxAvailable) {
        rows.push(
          summary(
            'nginx alone',
            'nginx alone (the shipped deploy/nginx config without auth_request), reverse proxy',
            runs,
          ),
        );
        const withAuth = summary(
          'nginx + auth_request',
          "nginx + auth_request to patgate's decision listener (deploy/nginx/nginx.conf), both on the proxy core",
          runs,
          'nginx alone',
        );
        rows.push(withAuth);
        result.nginx = withAuth;
        const ceilingRow = summary(
          'nginx + allow-all',
          'nginx + auth_request to a node:http server answering 200 at once (the ceiling of any Node decision service), both on the proxy core',
          runs,
          'nginx alone',
        );
        rows.push(ceilingRow);
        result.ceiling = ceilingRow;
      }
      const decision = summary(
        'decision',
        'patgate decision listener alone (GET /nginx, warm cache), decisions',
        runs,
      );
      rows.push(decision);
      result.decision = decision;
      for (const stopOne of stops.splice(0).reverse()) await stopOne();
    }
    if (groups.includes('workers')) {
      const everyCpu = layout.pinned ? Array.from({ length: layout.cpus }, (_, i) => i).join(',') : null;
      const one = await startPatgate({
        ...common,
        name: 'patgate-w1',
        routes: 20,
        maxEntries: 100_000,
        core: layout.proxyCore,
      });
      stops.push(one.stop);
      // Two workers need two cores: both, the load generator's too (it stays pinned to its own).
      const two = await startPatgate({
        ...common,
        name: 'patgate-w2',
        routes: 20,
        maxEntries: 100_000,
        core: everyCpu,
        workers: 2,
      });
      stops.push(two.stop);
      const auth = { headers: { authorization: `Bearer ${token}` } };
      await expectStatus('workers: 1', one.url + path, auth, 200);
      await expectStatus('workers: 2', two.url + path, auth, 200);
      const targets = {
        'workers: 1': { load: load(one.url + path), pids: [one.pid] },
        'workers: 2': { load: load(two.url + path), pids: [two.pid] },
      };
      log(`workers rows (${roundCount} rounds of ${durationS} s)...`);
      const runs = await rounds(targets, ['workers: 1', 'workers: 2'], options);
      rows.push(
        summary('workers: 1', 'patgate, workers: 1 (one process on the proxy core), warm cache', runs),
      );
      const w2 = summary(
        'workers: 2',
        'patgate, workers: 2 (a primary and two workers on both cores, the load generator on one of them), warm cache',
        runs,
        'workers: 1',
      );
      rows.push(w2);
      result.workers = w2;
    }
  } finally {
    for (const stopOne of stops.reverse()) await stopOne().catch(() => {});
  }
  return result;
}

/** The target rows: one pass/fail (nginx), the others reported as measured (`pass: null`). */
export function deployTargets(result) {
  const targets = [];
  const cpu = (r) => `${r.cpuUsPerRequest.toFixed(1)} µs CPU/req`;
  if (result.nginx !== null) {
    const r = result.nginx;
    targets.push({
      name: 'nginx + auth_request to the decision listener >= 0.5 x nginx alone, ~200 B, same run',
      measured: `${fmt.ratio(r.ratio)} x (${fmt.rps(r.rps)} req/s; ${cpu(r)}, ${fmt.ratio(r.cpuRatio)} x nginx alone's)`,
      pass: r.ratio >= 0.5,
    });
  }
  if (result.ceiling !== null) {
    const r = result.ceiling;
    const patgate = result.nginx;
    targets.push({
      name: 'nginx + auth_request to a Node server that allows at once (no decision), next to nginx alone',
      measured: `${fmt.ratio(r.ratio)} x (${fmt.rps(r.rps)} req/s; ${cpu(r)}); patgate's decision adds ${(patgate.cpuUsPerRequest - r.cpuUsPerRequest).toFixed(1)} µs CPU/req to it`,
      pass: null,
    });
  }
  if (result.decision !== null) {
    const r = result.decision;
    targets.push({
      name: 'decision listener alone: decisions per second (one core, warm cache)',
      measured: `${fmt.rps(r.rps)} decisions/s, p99 ${fmt.ms(r.p99Ms)} ms, ${cpu(r)}`,
      pass: null,
    });
  }
  if (result.workers !== null) {
    const r = result.workers;
    targets.push({
      name: 'workers: 2 vs workers: 1, ~200 B (2 cores, the load generator on one of them)',
      measured: `${fmt.ratio(r.ratio)} x req/s (${fmt.rps(r.rps)} req/s); CPU per request ${fmt.ratio(r.cpuRatio)} x (${cpu(r)})`,
      pass: null,
    });
  }
  const dirty = result.rows.filter((r) => r.non2xx > 0 || r.socketErrors > 0);
  if (result.rows.length > 0) {
    targets.push({
      name: 'every measured response a 200 (deploy and workers rows)',
      measured:
        dirty.length === 0
          ? 'yes'
          : dirty.map((r) => `${r.name}: ${r.non2xx} non-2xx, ${r.socketErrors} errors`).join('; '),
      pass: dirty.length === 0,
    });
  }
  return targets;
}

/** The rows as a section of the report: a plain-text and a Markdown table, with what was skipped. */
export function renderDeploy(result) {
  const header = [
    'row',
    'req/s',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'x',
    'CPU x',
    'x by round',
    'foreign CPU',
  ];
  const rows = result.rows.map((r) => [
    r.label,
    fmt.rps(r.rps),
    fmt.ms(r.p50Ms),
    fmt.ms(r.p99Ms),
    r.cpuUsPerRequest.toFixed(1),
    r.ratio === null ? '-' : `${fmt.ratio(r.ratio)} x ${r.base}`,
    r.cpuRatio === null ? '-' : fmt.ratio(r.cpuRatio),
    r.byRound.length === 0 ? '-' : r.byRound.map((v) => fmt.ratio(v)).join(' / '),
    r.foreignCpus.toFixed(2),
  ]);
  const title = 'Deploy anywhere (issue 15): nginx + auth_request, the decision listener, workers';
  const note =
    'Each pair in alternating rounds of the same run; "x" is the median of per-round ratios. CPU per request counts every process of the row (nginx and patgate together; a primary and its workers).';
  const skipped = result.skipped.map((s) => `Skipped: ${s}.`);
  return {
    text: `${title}\n${note}\n\n${rows.length > 0 ? textTable(header, rows) : '(no rows)'}\n${skipped.join('\n')}\n`,
    markdown: `## ${title}\n\n${note}\n\n${rows.length > 0 ? markdownTable(header, rows) : '(no rows)'}\n${skipped.map((s) => `\n- ${s}`).join('')}\n`,
  };
}
