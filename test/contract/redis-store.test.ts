import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY } from '../../src/grants/owner.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import {
  RedisGrantStore,
  type StoreFailureKind,
  type StoreLogger,
  type StoreObserver,
} from '../../src/store/redis-store.js';
import { freePort } from '../helpers/free-port.js';
import { startRedisMonitor } from '../helpers/redis-monitor.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { grantStoreContract } from './grant-store.contract.js';
import { classic, fineGrained, randomHash, recordInvalidations } from './token-fixtures.js';

const COMMAND_TIMEOUT_MS = 300;
// Room for a loaded CI machine, still far below "hanging".
const MARGIN_MS = 700;
const external = Boolean(process.env.PATGATE_TEST_REDIS_URL);

let redis: TestRedis;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  await redis?.stop();
});

function uniquePrefix(): string {
  return `patgate-test:${randomBytes(6).toString('hex')}:`;
}

async function openStore(
  keyPrefix = uniquePrefix(),
  logger?: StoreLogger,
  observer?: StoreObserver,
): Promise<RedisGrantStore> {
  const store = new RedisGrantStore({
    url: redis.url,
    keyPrefix,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    logger,
    observer,
  });
  opened.push(store);
  await store.ready();
  return store;
}

function openClient(): Redis {
  const client = new Redis(redis.url, { lazyConnect: false });
  opened.push({ close: () => client.quit() });
  return client;
}

/** Polls until `attempt` resolves; for recovery after a restart, which takes a reconnect backoff. */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

async function timed(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
    return { error: null, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

// The store's closing is left to the suite; the connection is this file's.
grantStoreContract('RedisGrantStore', async () => {
  const store = await openStore();
  opened.pop();
  return store;
});

describe('RedisGrantStore', () => {
  /**
   * The commands (by name) Redis received from clients while `work` ran, bracketed by ECHO
   * markers seen through MONITOR. Commands a script runs show up with source "lua"; they are
   * part of the script's one round trip and are left out.
   */
  async function watchCommands(): Promise<(work: () => Promise<unknown>) => Promise<string[][]>> {
    const monitor = await startRedisMonitor(redis.url);
    opened.push({ close: async () => monitor.close() });
    // Ready before the first mark, so that its handshake never lands between two marks.
    const marker = openClient();
    await marker.ping();
    const seen: { args: string[]; source: string }[] = [];
    const waiting = new Map<string, () => void>();
    monitor.onCommand((args, source) => {
      seen.push({ args, source });
      if (args[0]?.toLowerCase() === 'echo' && args[1]) waiting.get(args[1])?.();
    });
    const mark = async (name: string): Promise<void> => {
      const arrived = new Promise<void>((resolve) => waiting.set(name, resolve));
      await marker.echo(name);
      await arrived;
    };
    return async (work) => {
      const start = `start-${randomBytes(4).toString('hex')}`;
      const end = `end-${randomBytes(4).toString('hex')}`;
      await mark(start);
      await work();
      await mark(end);
      const from = seen.findIndex((e) => e.args[1] === start);
      const to = seen.findIndex((e) => e.args[1] === end);
      return seen
        .slice(from + 1, to)
        .filter((e) => e.source !== 'lua')
        .map((e) => e.args);
    };
  }

  const names = (commands: string[][]): string[] => commands.map((args) => (args[0] ?? '').toLowerCase());

  it('looks up in one round trip: a single EVALSHA, for both token kinds', async () => {
    const store = await openStore();
    const fine = { record: fineGrained(), hash: randomHash() };
    const broad = { record: classic(), hash: randomHash() };
    await store.createToken(fine.hash, fine.record);
    await store.createToken(broad.hash, broad.record);
    await store.setMember('acme', 'alice', 'member');
    // The first call may load the script (NOSCRIPT, then EVAL); that is not the steady state.
    await store.lookup(fine.hash, 'acme');
    const commandsDuring = await watchCommands();

    expect(names(await commandsDuring(() => store.lookup(fine.hash, 'beta')))).toEqual(['evalsha']);
    expect(names(await commandsDuring(() => store.lookup(broad.hash, 'acme')))).toEqual(['evalsha']);
    expect(names(await commandsDuring(() => store.lookup(randomHash(), 'acme')))).toEqual(['evalsha']);
  });

  it('sends the lookups of one event-loop turn as one EVALSHA, each answered for its own token and owner', async () => {
    const store = await openStore();
    await store.setMember('acme', 'alice', 'admin');
    await store.setMember('beta', 'alice', 'member');
    const fine = { record: fineGrained(), hash: randomHash() };
    const broad = { record: classic(), hash: randomHash() };
    await store.createToken(fine.hash, fine.record);
    await store.createToken(broad.hash, broad.record);
    await store.lookup(fine.hash, 'acme');
    const commandsDuring = await watchCommands();

    let answers: unknown[] = [];
    const unknown = randomHash();
    const commands = await commandsDuring(async () => {
      answers = await Promise.all([
        store.lookup(fine.hash, 'beta'),
        store.lookup(broad.hash, 'acme'),
        store.lookup(unknown, 'acme'),
        store.lookup(broad.hash, 'beta'),
      ]);
    });
    expect(names(commands)).toEqual(['evalsha']);
    // EVALSHA sha numkeys key... args...
    expect(commands[0]?.[2]).toBe('4');
    const [fineAnswer, broadAcme, none, broadBeta] = answers;
    // A fine-grained token is read against its own owner, whatever the request named.
    expect(fineAnswer).toMatchObject({ token: fine.record, owner: { org: { role: 'admin' } } });
    expect(broadAcme).toMatchObject({ token: broad.record, owner: { org: { role: 'admin' } } });
    expect(none).toBeNull();
    expect(broadBeta).toMatchObject({ token: broad.record, owner: { org: { role: 'member' } } });
  });

  it('splits a large turn into script calls of at most 128 lookups', async () => {
    const store = await openStore();
    const fine = { record: fineGrained(), hash: randomHash() };
    await store.createToken(fine.hash, fine.record);
    await store.lookup(fine.hash, 'acme');
    const commandsDuring = await watchCommands();
    let answers: unknown[] = [];
    const hashes = Array.from({ length: 300 }, (_, i) => (i % 100 === 0 ? fine.hash : randomHash()));
    const commands = await commandsDuring(async () => {
      answers = await Promise.all(hashes.map((h) => store.lookup(h, 'acme')));
    });
    expect(names(commands)).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect(commands.map((args) => args[2])).toEqual(['128', '128', '44']);
    answers.forEach((answer, i) => {
      if (i % 100 === 0) expect(answer).toMatchObject({ token: fine.record });
      else expect(answer).toBeNull();
    });
  });

  it('fails the lookup of an unreadable record with StoreUnavailableError, and only that one', async () => {
    const keyPrefix = uniquePrefix();
    const failures: StoreFailureKind[] = [];
    const store = await openStore(keyPrefix, undefined, { commandFailed: (kind) => failures.push(kind) });
    const good = { record: fineGrained(), hash: randomHash() };
    await store.createToken(good.hash, good.record);
    const broken = randomHash();
    const brokenUser = randomHash();
    const wrongType = randomHash();
    const raw = openClient();
    await raw.set(`${keyPrefix}tok:${broken}`, '{not json');
    await raw.set(`${keyPrefix}tok:${brokenUser}`, JSON.stringify({ ...good.record, user: 42 }));
    // GET on a hash is a WRONGTYPE error inside the script.
    await raw.hset(`${keyPrefix}tok:${wrongType}`, 'x', '1');
    const settled = await Promise.allSettled([
      store.lookup(broken, 'acme'),
      store.lookup(good.hash, 'acme'),
      store.lookup(brokenUser, 'acme'),
      store.lookup(wrongType, 'acme'),
    ]);
    expect(settled[0]).toMatchObject({ status: 'rejected' });
    expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    expect(settled[1]).toMatchObject({ status: 'fulfilled', value: { token: good.record } });
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    // Counted where an error reply from Redis is, so an alert on it still sees them.
    expect(failures).toEqual(['error', 'error', 'error']);
  });

  it('keeps its data when the store object is re-created', async () => {
    const keyPrefix = uniquePrefix();
    const first = await openStore(keyPrefix);
    const record = fineGrained();
    const hash = randomHash();
    await first.createToken(hash, record);
    await first.setMember('acme', 'alice', 'admin');
    await first.close();

    const second = await openStore(keyPrefix);
    expect(await second.getToken(record.id)).toEqual(record);
    expect(await second.lookup(hash, 'acme')).toMatchObject({ owner: { org: { role: 'admin' } } });
  });

  it('delivers invalidations to every instance sharing the prefix, and only to those', async () => {
    const keyPrefix = uniquePrefix();
    const writer = await openStore(keyPrefix);
    const reader = await openStore(keyPrefix);
    const stranger = await openStore();
    const { record, hash } = { record: fineGrained(), hash: randomHash() };
    await writer.createToken(hash, record);
    const readerEvents = recordInvalidations(reader);
    const strangerEvents = recordInvalidations(stranger);
    await writer.setTokenStatus(record.id, 'revoked');
    await writer.setMember('acme', 'bob', 'member');
    await readerEvents.next((e) => e.kind === 'token' && e.tokenHash === hash);
    await readerEvents.next((e) => e.kind === 'owner' && e.owner === 'acme');
    // Both messages were published after the token one; the stranger's channel saw neither.
    expect(strangerEvents.seen).toEqual([]);
  });

  it('stamps invalidations with their publish time; receivers report the lag', async () => {
    const keyPrefix = uniquePrefix();
    const lags: number[] = [];
    const writer = await openStore(keyPrefix);
    const reader = await openStore(keyPrefix, undefined, { invalidationLag: (s) => lags.push(s) });
    const watcher = openClient();
    const messages: string[] = [];
    await watcher.subscribe(`${keyPrefix}invalidate`);
    watcher.on('message', (_channel: string, message: string) => messages.push(message));
    const readerEvents = recordInvalidations(reader);
    const { record, hash } = { record: fineGrained(), hash: randomHash() };
    await writer.createToken(hash, record);
    const before = Date.now();
    await writer.setTokenStatus(record.id, 'revoked');
    await readerEvents.next((e) => e.kind === 'token' && e.tokenHash === hash);
    await writer.setOrgPolicy('acme', { ...DEFAULT_ORG_POLICY });
    await readerEvents.next((e) => e.kind === 'owner' && e.owner === 'acme');
    expect(lags).toHaveLength(2);
    for (const lag of lags) {
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(1);
    }
    const stamped = messages.find((m) => m.startsWith(`t:${hash}:`));
    expect(Number(stamped?.split(':')[2])).toBeGreaterThanOrEqual(before);
  });

  it('still understands messages without a timestamp (senders of an earlier version)', async () => {
    const keyPrefix = uniquePrefix();
    const lags: number[] = [];
    const reader = await openStore(keyPrefix, undefined, { invalidationLag: (s) => lags.push(s) });
    const events = recordInvalidations(reader);
    const hash = randomHash();
    await openClient().publish(`${keyPrefix}invalidate`, `t:${hash}`);
    await events.next((e) => e.kind === 'token' && e.tokenHash === hash);
    expect(lags).toEqual([]);
  });

  it('stores tokens that expire with a retention deadline 30 days after expiry', async () => {
    const keyPrefix = uniquePrefix();
    const store = await openStore(keyPrefix);
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    const record = fineGrained({ expiresAt });
    const hash = randomHash();
    await store.createToken(hash, record);
    const client = openClient();
    const deadline = Date.parse(expiresAt) + 30 * 24 * 60 * 60 * 1000;
    expect(await client.pexpiretime(`${keyPrefix}tok:${hash}`)).toBe(deadline);
    expect(await client.pexpiretime(`${keyPrefix}tokid:${record.id}`)).toBe(deadline);
  });

  it('gives the first connection the command timeout to come up, then queues nothing', async () => {
    const store = new RedisGrantStore({
      url: redis.url,
      keyPrefix: uniquePrefix(),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    opened.push(store);
    await expect(store.lookup(randomHash(), 'acme')).resolves.toBeNull();
    await store.ready();
  });

  it('fails with StoreUnavailableError within the command timeout when Redis never answers', async () => {
    const port = await freePort();
    const store = new RedisGrantStore({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix: uniquePrefix(),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    opened.push(store);
    const { error, ms } = await timed(store.lookup(randomHash(), 'acme'));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    await expect(store.ready(COMMAND_TIMEOUT_MS)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('refuses a Redis Cluster node (store.cluster is the Cluster store) instead of half-working on it', async () => {
    const cluster = await startClusterNode();
    try {
      const errors: string[] = [];
      const store = new RedisGrantStore({
        url: cluster.url,
        keyPrefix: uniquePrefix(),
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        logger: {
          warn: () => {},
          error: (obj, msg) => errors.push(`${msg}: ${String(Reflect.get(obj, 'err'))}`),
        },
      });
      opened.push(store);
      await expect(store.ready()).rejects.toBeInstanceOf(StoreUnavailableError);
      const lookup = await timed(store.lookup(randomHash(), 'acme'));
      expect(lookup.error).toBeInstanceOf(StoreUnavailableError);
      expect(String((lookup.error as Error).cause)).toMatch(
        /a Cluster node: configure it under store\.cluster/,
      );
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(errors.join('\n')).toMatch(/a Cluster node: configure it under store\.cluster/);
    } finally {
      await cluster.stop();
    }
  });

  it('rejects bad options at construction', () => {
    expect(() => new RedisGrantStore({ url: redis.url, keyPrefix: 'p:', commandTimeoutMs: 0 })).toThrow(
      /commandTimeoutMs/,
    );
  });

  describe.skipIf(external)('faults (private redis-server only)', () => {
    it('fails fast with StoreUnavailableError when Redis is killed, and recovers after a restart', async () => {
      const warnings: string[] = [];
      const failures: StoreFailureKind[] = [];
      const store = await openStore(
        uniquePrefix(),
        { warn: (_obj, msg) => warnings.push(msg) },
        { commandFailed: (kind) => failures.push(kind) },
      );
      const events = recordInvalidations(store);
      expect(store.isSynchronized()).toBe(true);
      await redis.kill();
      // A dead subscription: entries may miss invalidations from now on.
      await eventually(async () => expect(store.isSynchronized()).toBe(false));
      for (const call of [() => store.lookup(randomHash(), 'acme'), () => store.ping()]) {
        const { error, ms } = await timed(call());
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
      }
      const write = await timed(store.createToken(randomHash(), fineGrained()));
      expect(write.error).toBeInstanceOf(StoreUnavailableError);
      expect(failures).toEqual(['unavailable', 'unavailable', 'unavailable']);

      await redis.restart();
      await eventually(() => store.ping());
      // The restarted server has an empty script cache; EVALSHA falls back to EVAL.
      const record = classic();
      const hash = randomHash();
      await store.createToken(hash, record);
      expect(await store.lookup(hash, 'acme')).toMatchObject({ token: record });
      // The resubscribed listener starts over instead of trusting what it missed.
      await events.next((e) => e.kind === 'all', 8000);
      expect(store.isSynchronized()).toBe(true);
      // One line per connection per outage, not one per reconnect attempt.
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings.length).toBeLessThanOrEqual(2);
    });

    it('times out with StoreUnavailableError while Redis hangs, and recovers on resume', async () => {
      const failures: StoreFailureKind[] = [];
      const store = await openStore(uniquePrefix(), undefined, {
        commandFailed: (kind) => failures.push(kind),
      });
      const record = fineGrained();
      const hash = randomHash();
      await store.createToken(hash, record);
      redis.pause();
      try {
        const { error, ms } = await timed(store.lookup(hash, 'acme'));
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
        expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
        expect(failures).toEqual(['timeout']);
      } finally {
        redis.resume();
      }
      expect(await store.lookup(hash, 'acme')).toMatchObject({ token: record });
    });

    it('delivers {kind: all} when the subscriber connection is dropped and comes back', async () => {
      const store = await openStore();
      const events = recordInvalidations(store);
      const admin = openClient();
      await admin.client('KILL', 'TYPE', 'pubsub');
      await events.next((e) => e.kind === 'all', 8000);
      // And the new subscription works.
      const record = fineGrained();
      const hash = randomHash();
      await store.createToken(hash, record);
      await store.setTokenStatus(record.id, 'revoked');
      await events.next((e) => e.kind === 'token' && e.tokenHash === hash);
    });
  });
});

/** A redis-server with cluster mode on (one node, no slots assigned): what a Cluster URL points at. */
async function startClusterNode(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'patgate-cluster-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir].concat([
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
    ]),
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually(async () => {
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  }, 8000);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
