// A private Redis Cluster for one benchmark run: 6 redis-server processes in cluster mode on free
// ports of 127.0.0.1 (3 primaries, 3 replicas), joined by `redis-cli --cluster create`, no
// persistence, removed on stop. The same setup as test/helpers/redis-cluster.ts.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, start, stop, waitForPort } from './procs.mjs';

const execFileAsync = promisify(execFile);
const NODES = 6;

export async function startPrivateCluster({ core = null } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'patgate-bench-cluster-'));
  const children = [];
  const stopAll = async () => {
    await Promise.all(children.map((child) => stop(child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = [];
    for (let i = 0; i < NODES; i++) {
      const { port, child } = await startNode(dir, core);
      ports.push(port);
      children.push(child);
    }
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await execFileAsync(
      'redis-cli',
      ['--cluster', 'create', ...nodes, '--cluster-replicas', '1', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    await waitUntilHealthy(ports, 30_000);
    return { nodes, pids: children.map((child) => child.pid), stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startNode(dir, core) {
  // Another process can grab a free port before redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const busPort = await freePort();
    const nodeDir = join(dir, String(port));
    await mkdir(nodeDir, { recursive: true });
    const child = start(
      'redis-server',
      [
        '--port',
        String(port),
        '--cluster-port',
        String(busPort),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout',
        '1500',
        '--repl-diskless-sync-delay',
        '0',
        '--save',
        '',
        '--appendonly',
        'no',
        '--bind',
        '127.0.0.1',
        '--dir',
        nodeDir,
      ],
      { core },
    );
    try {
      await waitForPort(port, 10_000, child);
      return { port, child };
    } catch (error) {
      await stop(child, 'SIGKILL');
      if (attempt >= 3) throw error;
    }
  }
}

/** Every node says `cluster_state:ok` and every replica is in sync. */
async function waitUntilHealthy(ports, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = [];
    for (const port of ports) {
      const redis = new Redis({
        host: '127.0.0.1',
        port,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      redis.on('error', () => {});
      try {
        const info = String(await redis.call('CLUSTER', 'INFO'));
        const replication = await redis.info('replication');
        if (!/^cluster_state:ok\s*$/m.test(info)) pending.push(`${port}: not ok`);
        else if (/^role:slave\s*$/m.test(replication) && !/^master_link_status:up\s*$/m.test(replication)) {
          pending.push(`${port}: replica not in sync`);
        }
      } catch (error) {
        pending.push(`${port}: ${error.message}`);
      } finally {
        redis.disconnect();
      }
    }
    if (pending.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`Redis Cluster not healthy within ${timeoutMs} ms: ${pending[0]}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
