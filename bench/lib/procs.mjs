// Process plumbing for the benchmarks: free ports, CPU pinning, spawning, RSS sampling.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

export function hasCommand(name, args = ['--version']) {
  const probe = spawnSync(name, args, { stdio: 'ignore' });
  return probe.error === undefined;
}

/** A port nothing listens on right now (loopback only). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port, timeoutMs = 15_000, child = undefined) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `${child.spawnargs.join(' ')} exited (${child.exitCode ?? child.signalCode}) before listening`,
      );
    }
    const ok = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await delay(25);
  }
}

/**
 * CPU layout, as in issue #6: the load generator, the upstream (and Redis) on one core,
 * the proxy under test alone on another. Without `taskset` or with one CPU, nothing is pinned.
 */
export function cpuLayout() {
  const cpus = availableParallelism();
  const taskset = process.platform === 'linux' && hasCommand('taskset', ['-V']);
  if (!taskset || cpus < 2) return { pinned: false, cpus, loadCore: null, proxyCore: null };
  return { pinned: true, cpus, loadCore: 0, proxyCore: 1 };
}

/** Pins every thread of this process (so children it spawns inherit the load core). */
export function pinSelf(layout) {
  if (!layout.pinned) return;
  spawnSync('taskset', ['-a', '-cp', String(layout.loadCore), String(process.pid)], { stdio: 'ignore' });
}

const live = new Set();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Spawns `cmd args`, on `core` when given (taskset execs, so the pid is the program's own).
 * stdout/stderr go to `logFd` when given, else are ignored.
 */
export function start(cmd, args, { core = null, env = undefined, logFd = 'ignore', cwd = undefined } = {}) {
  const [file, argv] = core === null ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]];
  const child = spawn(file, argv, {
    stdio: ['ignore', logFd, logFd],
    env: env === undefined ? process.env : { ...process.env, ...env },
    cwd,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export async function stop(child, signal = 'SIGTERM', timeoutMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // A process paused by `pauseAllBut` would hold the signal until it is continued.
  child.kill('SIGCONT');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Stops (SIGSTOP) every process in `pids` but `keep`, so that the proxy under test has its core
 * to itself: an idle proxy still wakes up on its own timers (event-loop monitors, connection
 * checks, flushes), and on a shared core every wake-up is a context switch taken from the one
 * being measured. Returns the function that continues them.
 */
export function pauseAllBut(pids, keep) {
  const paused = [...new Set(pids)].filter((pid) => pid !== keep);
  for (const pid of paused) signal(pid, 'SIGSTOP');
  return () => {
    for (const pid of paused) signal(pid, 'SIGCONT');
  };
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone: nothing to pause or continue.
  }
}

/** Resident set size of `pid` in bytes, or 0 when it cannot be read (non-Linux). */
export function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples the RSS of `pid` every `intervalMs` until `stop()`; returns the peak and the samples. */
export function sampleRss(pid, intervalMs = 100) {
  const samples = [];
  const take = () => samples.push({ t: performance.now(), rss: rssOf(pid) });
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const peak = samples.reduce((max, s) => Math.max(max, s.rss), 0);
      return { peak, samples };
    },
  };
}

/** Runs a command to completion, collecting its stdout and stderr. */
export function run(cmd, args, { core = null, env = undefined } = {}) {
  const [file, argv] = core === null ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env === undefined ? process.env : { ...process.env, ...env },
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      live.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

// Linux reports CPU time in clock ticks; 100 per second on every mainstream kernel config.
const TICK_US = 10_000;

/** utime + stime of `pid` in µs (0 when unreadable). */
export function procCpuUs(pid) {
  return statCpuUs(`/proc/${pid}/stat`);
}

/**
 * CPU time of a process's main thread and of all its other threads (V8's GC and compiler
 * helpers, libuv's pool), in µs. On a pinned core the helpers run in the main thread's time.
 */
export function threadCpuUs(pid) {
  let helpers = 0;
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { main: 0, helpers: 0 };
  }
  for (const tid of tids) {
    if (tid !== String(pid)) helpers += statCpuUs(`/proc/${pid}/task/${tid}/stat`);
  }
  return { main: statCpuUs(`/proc/${pid}/task/${pid}/stat`), helpers };
}

function statCpuUs(path) {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state(0) ppid(1) ... utime(11) stime(12).
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return 0;
  }
}

/** { busy, total } CPU ticks over every CPU, from /proc/stat. */
function systemTicks() {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((s, x) => s + x, 0);
    return { busy: total - v[3] - v[4], total };
  } catch {
    return null;
  }
}

/** CPU ticks used by this process and every descendant alive now. */
function treeTicks(root) {
  const children = new Map();
  const ticks = new Map();
  let pids;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      ticks.set(Number(pid), Number(f[11]) + Number(f[12]));
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(pid));
    } catch {}
  }
  let sum = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    sum += ticks.get(pid) ?? 0;
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return sum;
}

/**
 * utime + stime of `pid` and of every descendant alive now, in µs: a `workers: N` primary and
 * its workers together.
 */
export function treeCpuUs(pid) {
  return treeTicks(pid) * TICK_US;
}

/**
 * CPU used by processes that are not this benchmark (other work on a shared machine), in CPUs,
 * between `begin()` and `end()`. Both ends must be taken while the load generator is alive.
 */
export function foreignCpu() {
  const s0 = systemTicks();
  const t0 = treeTicks(process.pid);
  return {
    end() {
      const s1 = systemTicks();
      if (s0 === null || s1 === null) return Number.NaN;
      const t1 = treeTicks(process.pid);
      const cpus = availableParallelism();
      const foreign = Math.max(0, s1.busy - s0.busy - (t1 - t0));
      return (foreign / (s1.total - s0.total)) * cpus;
    },
  };
}

/** Waits (up to `maxWaitMs`) for a `windowMs` window in which other work uses under `threshold` CPUs. */
export async function waitForQuiet({ threshold = 0.2, windowMs = 500, maxWaitMs = 15_000 } = {}) {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const probe = foreignCpu();
    await delay(windowMs);
    const used = probe.end();
    if (!(used >= threshold) || Date.now() > deadline) return used;
  }
}

/** CPU of this process and of its children it has waited for (wrk, autocannon runs), in µs. */
export function selfAndChildrenCpuUs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime(11) stime(12) cutime(13) cstime(14)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_US;
  } catch {
    return 0;
  }
}
