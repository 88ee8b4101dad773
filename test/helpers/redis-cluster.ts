import { type ChildProcess, execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { AddressInUseError, exitOf, spawnRedis, terminate } from './redis-server.js';

const run = promisify(execFile);

/**
 * A real Redis Cluster for one test file: 6 `redis-server` processes in cluster
 * mode on free ports of 127.0.0.1 (3 primaries, 3 replicas), joined by
 * `redis-cli --cluster create`. Start it once per file: it takes a few seconds.
 */
export interface TestCluster {
  /** `host:port` of every node, as `store.cluster.nodes` takes them. */
  readonly nodes: readonly string[];
  /** `redis+cluster://host:port,...`, as `patgate store migrate` takes it. */
  readonly url: string;
  /** The port of the primary that serves `key`'s hash slot now. */
  primaryPortFor(key: string): Promise<number>;
  /** SIGKILL one node; resolves once the process is gone. */
  kill(port: number): Promise<void>;
  /**
   * Resolves once every live node says `cluster_state:ok`, every slot has a live primary
   * and every replica is in sync with its primary.
   */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their directories. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** `cluster-node-timeout`: how long a silent primary is given before its replica takes over. */
  readonly nodeTimeoutMs?: number;
}

const NODES = 6;

interface Node {
  readonly port: number;
  child: ChildProcess | null;
}

export async function startRedisCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'patgate-cluster-'));
  const nodes: Node[] = [];
  try {
    for (let i = 0; i < NODES; i++) nodes.push(await spawnNode(dir, options.nodeTimeoutMs ?? 1500));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    const cluster = new RunningCluster(dir, nodes);
    await cluster.waitUntilHealthy(30_000);
    return cluster;
  } catch (err) {
    await Promise.all(nodes.map((n) => (n.child ? terminate(n.child) : undefined)));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

class RunningCluster implements TestCluster {
  readonly nodes: readonly string[];
  readonly url: string;

  constructor(
    private readonly dir: string,
    private readonly processes: Node[],
  ) {
    this.nodes = processes.map((n) => `127.0.0.1:${n.port}`);
    this.url = `redis+cluster://${this.nodes.join(',')}`;
  }

  async primaryPortFor(key: string): Promise<number> {
    return withNode(this.#livePort(), async (redis) => {
      const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const range = ranges.find(([start, end]) => start <= slot && slot <= end);
      if (range === undefined) throw new Error(`no node serves slot ${slot}`);
      return Number(range[2][1]);
    });
  }

  async kill(port: number): Promise<void> {
    const node = this.processes.find((n) => n.port === port);
    const child = node?.child;
    if (!node || !child) throw new Error(`no live node on port ${port}`);
    node.child = null;
    const exited = exitOf(child);
    child.kill('SIGKILL');
    await exited;
  }

  async waitUntilHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const verdict = await this.#health();
      if (verdict === null) return;
      last = verdict;
      if (Date.now() > deadline) throw new Error(`cluster not healthy within ${timeoutMs} ms: ${last}`);
      await delay(50);
    }
  }

  async stop(): Promise<void> {
    const children = this.processes.flatMap((n) => (n.child ? [n.child] : []));
    for (const n of this.processes) n.child = null;
    await Promise.all(children.map(terminate));
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Null when healthy, else what is not yet. */
  async #health(): Promise<string | null> {
    for (const node of this.processes) {
      if (!node.child) continue;
      const info = await withNode(node.port, (redis) => redis.call('CLUSTER', 'INFO')).catch(
        (err: unknown) => `unreachable: ${String(err)}`,
      );
      if (!/^cluster_state:ok\s*$/m.test(String(info))) return `${node.port}: ${String(info).split('\n')[0]}`;
      // A replica that has not finished its first sync would lose everything in a failover.
      const replication = await withNode(node.port, (redis) => redis.info('replication'));
      if (/^role:slave\s*$/m.test(replication) && !/^master_link_status:up\s*$/m.test(replication)) {
        return `${node.port}: replica not in sync`;
      }
    }
    const livePorts = new Set(this.processes.filter((n) => n.child).map((n) => n.port));
    // Every node must agree that only live primaries serve slots (a view still naming a dead one is stale).
    for (const port of livePorts) {
      const ranges = (await withNode(port, (redis) => redis.call('CLUSTER', 'SLOTS'))) as [
        number,
        number,
        [string, number],
      ][];
      let covered = 0;
      for (const [start, end, [, primary]] of ranges) {
        if (!livePorts.has(Number(primary))) return `${port} still routes slot ${start} to ${primary}`;
        covered += end - start + 1;
      }
      if (covered !== 16384) return `${port} covers ${covered} slots`;
    }
    return null;
  }

  #livePort(): number {
    const node = this.processes.find((n) => n.child);
    if (!node) throw new Error('no live node');
    return node.port;
  }
}

async function withNode<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

async function spawnNode(dir: string, nodeTimeoutMs: number): Promise<Node> {
  // Another process can grab a free port before redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const busPort = await freePort();
    const nodeDir = join(dir, String(port));
    await mkdir(nodeDir, { recursive: true });
    try {
      const child = await spawnRedis(port, nodeDir, 10_000, clusterArgs(nodeDir, busPort, nodeTimeoutMs));
      return { port, child };
    } catch (err) {
      if (!(err instanceof AddressInUseError) || attempt >= 4) throw err;
    }
  }
}

function clusterArgs(dir: string, busPort: number, nodeTimeoutMs: number): string[] {
  return [
    '--cluster-port',
    String(busPort),
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, 'nodes.conf'),
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    // A replica takes over however long ago it last heard from its primary.
    '--cluster-replica-validity-factor',
    '0',
    // A replica is a copy at once, not after diskless sync's default 5 s wait.
    '--repl-diskless-sync-delay',
    '0',
  ];
}
