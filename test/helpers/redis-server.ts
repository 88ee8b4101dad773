import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './free-port.js';

/** A Redis for one test file: private (started here) or external (`PATGATE_TEST_REDIS_URL`). */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** True when the Redis was not started here; the fault controls then throw. */
  readonly external: boolean;
  /** Stops the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL: the abrupt outage. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but answers nothing (a hung store). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** Starts the server again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** How long to wait for the first PONG. */
  readonly startTimeoutMs?: number;
}

const EXTERNAL_ONLY = 'not available with an external Redis';
const POLL_INTERVAL_MS = 20;
const OUTPUT_LIMIT = 8192;

// A crashed test worker must not leave servers behind.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startRedisServer(options: StartRedisOptions = {}): Promise<TestRedis> {
  const external = process.env.PATGATE_TEST_REDIS_URL;
  if (external) return externalRedis(external);
  const dir = await mkdtemp(join(tmpdir(), 'patgate-redis-'));
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  // Another process can grab the free port before redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnRedis(port, dir, startTimeoutMs);
      return new PrivateRedis(port, dir, child, startTimeoutMs);
    } catch (err) {
      if (!(err instanceof AddressInUseError) || attempt >= 4) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

function externalRedis(url: string): TestRedis {
  const unavailable = (): never => {
    throw new Error(EXTERNAL_ONLY);
  };
  return {
    url,
    port: Number(new URL(url).port || 6379),
    external: true,
    stop: async () => {},
    kill: async () => unavailable(),
    pause: unavailable,
    resume: unavailable,
    restart: async () => unavailable(),
  };
}

export class AddressInUseError extends Error {}

class PrivateRedis implements TestRedis {
  readonly url: string;
  readonly external = false;
  #child: ChildProcess | null;

  constructor(
    readonly port: number,
    private readonly dir: string,
    child: ChildProcess,
    private readonly startTimeoutMs: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    this.#child = child;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child) await terminate(child);
    await rm(this.dir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    const child = this.#running();
    this.#child = null;
    const exited = exitOf(child);
    child.kill('SIGKILL');
    await exited;
  }

  pause(): void {
    this.#running().kill('SIGSTOP');
  }

  resume(): void {
    this.#running().kill('SIGCONT');
  }

  async restart(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child) await terminate(child);
    const deadline = Date.now() + this.startTimeoutMs;
    // The old socket may linger for a moment after the process is gone.
    for (;;) {
      try {
        this.#child = await spawnRedis(this.port, this.dir, this.startTimeoutMs);
        return;
      } catch (err) {
        if (!(err instanceof AddressInUseError) || Date.now() > deadline) throw err;
        await delay(POLL_INTERVAL_MS);
      }
    }
  }

  #running(): ChildProcess {
    if (!this.#child) throw new Error('redis-server is not running');
    return this.#child;
  }
}

/**
 * Starts `redis-server` on `port` with nothing persisted, and resolves once it answers PING
 * (`extraArgs`: a cluster node's settings, say). Killed when the test process exits.
 */
export async function spawnRedis(
  port: number,
  dir: string,
  timeoutMs: number,
  extraArgs: readonly string[] = [],
): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    ...extraArgs,
    '--save',
    '',
    '--appendonly',
    'no',
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | null = null;
  child.once('error', (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw spawnError;
    if (hasExited(child)) {
      if (output.includes('Address already in use')) throw new AddressInUseError(output);
      throw new Error(`redis-server exited before answering PING:\n${output}`);
    }
    if (await answersPing(port)) {
      // Nothing reads the pipes from here on; stop them filling up.
      child.stdout?.resume();
      child.stderr?.resume();
      return child;
    }
    if (Date.now() > deadline) {
      await terminate(child);
      throw new Error(`redis-server did not answer PING within ${timeoutMs} ms:\n${output}`);
    }
    await delay(POLL_INTERVAL_MS);
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function exitOf(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = exitOf(child);
  // A paused server cannot act on SIGTERM.
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
