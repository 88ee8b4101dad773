import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, runCli, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, eventually, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

const MASTER = 'pgmaster';
const PATH = '/repos/acme/api/contents/readme.md';

interface Server {
  readonly port: number;
  readonly child: ChildProcess;
}

let dir: string;
let primary: TestRedis;
let replica: Server;
let sentinel: Server;
let sentinelClient: Redis;
let upstream: TestUpstream;
let gateway: GatewayProcess;

async function spawnServer(args: string[]): Promise<Server> {
  const port = await freePort();
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1'], {
    stdio: 'ignore',
  });
  await eventually(
    async () => {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    },
    10_000,
    `redis-server ${args.join(' ')} to answer`,
  );
  return { port, child };
}

function stopServer(server: Server | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

async function masterPort(): Promise<number> {
  const reply = (await sentinelClient.call('SENTINEL', 'get-master-addr-by-name', MASTER)) as string[] | null;
  return Number(reply?.[1]);
}

describe.skipIf(Boolean(process.env.PATGATE_TEST_REDIS_URL))('Redis Sentinel', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'patgate-sentinel-'));
    primary = await startRedisServer();
    replica = await spawnServer([
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--replicaof',
      '127.0.0.1',
      String(primary.port),
    ]);
    const conf = join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${MASTER} 2000`,
        `sentinel failover-timeout ${MASTER} 10000`,
        '',
      ].join('\n'),
    );
    sentinel = await spawnServer([conf, '--sentinel', '--dir', dir]);
    sentinelClient = new Redis(sentinel.port, '127.0.0.1');
    // A failover needs a replica the sentinel knows and considers in sync.
    await eventually(
      async () => {
        const replicas = (await sentinelClient.call('SENTINEL', 'replicas', MASTER)) as string[][];
        return replicas.some((fields) => {
          const flags = fields[fields.indexOf('flags') + 1] ?? '';
          const link = fields[fields.indexOf('master-link-status') + 1];
          return flags === 'slave' && link === 'ok';
        });
      },
      20_000,
      'the sentinel to discover the replica',
    );
    upstream = await startTestUpstream();
    // The URL's host is a closed port: everything must come through the sentinel.
    const config = stackConfig({ store: 'redis' }, upstream.url, 'redis://127.0.0.1:1/0').replace(
      '  command_timeout_ms: 300\n',
      `  command_timeout_ms: 300\n  sentinels: ["127.0.0.1:${sentinel.port}"]\n  sentinel_name: "${MASTER}"\n`,
    );
    gateway = await startGateway(config, { env: { PATGATE_LOG_LEVEL: 'info' } });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
    sentinelClient?.disconnect();
    await stopServer(sentinel);
    await stopServer(replica);
    await primary?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds the primary through the sentinel and follows a failover without a restart', async () => {
    await eventually(
      async () => (await fetch(`${gateway.adminUrl}/readyz`)).status === 200,
      10_000,
      'readiness through the sentinel',
    );
    const before = await createToken(gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    expect((await call(gateway.url, 'GET', PATH, { token: before.token })).status).toBe(200);
    const replicaClient = new Redis(replica.port, '127.0.0.1');
    try {
      await eventually(
        async () => (await replicaClient.exists(`pgtest:tokid:${before.id}`)) === 1,
        5000,
        'the replica to catch up',
      );
    } finally {
      replicaClient.disconnect();
    }

    expect(await sentinelClient.call('SENTINEL', 'failover', MASTER)).toBe('OK');
    await eventually(async () => (await masterPort()) === replica.port, 30_000, 'the failover');

    // Writes land on the new primary (the old one now refuses them as a replica)...
    let after: { id: string; token: string } | null = null;
    await eventually(
      async () => {
        try {
          after = await createToken(gateway.adminUrl, {
            user: 'alice',
            resource_owner: 'acme',
            repositories: 'all',
            permissions: { contents: 'read' },
          });
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      'writes through the new primary',
    );
    const created = after as { id: string; token: string } | null;
    expect((await call(gateway.url, 'GET', PATH, { token: created?.token ?? '' })).status).toBe(200);
    // ...and so do invalidations: a revocation is refused at once.
    expect((await admin(gateway.adminUrl, 'DELETE', `/v1/tokens/${before.id}`)).status).toBe(200);
    // Within the reconnect backoff (at most 2 s) plus a lookup: right after a failover the
    // subscription may still be on its way to the new primary, and the cache then asks the store.
    await eventually(
      async () => (await call(gateway.url, 'GET', PATH, { token: before.token })).status === 401,
      3000,
      'the revocation after the failover',
    );
  }, 90_000);
});

describe('config refuses what patgate cannot do safely', () => {
  it('a cluster beside redis_url or a multi-host URL is a config error, and sentinel keys go together', async () => {
    const upstreamUrl = 'http://127.0.0.1:9';
    const cases: [string, RegExp][] = [
      [
        stackConfig({ store: 'redis' }, upstreamUrl, 'redis://127.0.0.1:7000').replace(
          '  command_timeout_ms: 300\n',
          '  command_timeout_ms: 300\n  cluster:\n    nodes: ["127.0.0.1:7001"]\n',
        ),
        /store\.redis_url: store\.redis_url and store\.cluster exclude each other/,
      ],
      [
        stackConfig({ store: 'redis' }, upstreamUrl, 'redis://10.0.0.1:7000,10.0.0.2:7000'),
        /store\.redis_url: a Redis Cluster is configured as store\.cluster\.nodes/,
      ],
      [
        stackConfig({ store: 'redis' }, upstreamUrl, 'redis://127.0.0.1:6379').replace(
          '  command_timeout_ms: 300\n',
          '  command_timeout_ms: 300\n  sentinels: ["10.0.0.5:26379"]\n',
        ),
        /sentinels and sentinel_name go together/,
      ],
    ];
    const scratch = await mkdtemp(join(tmpdir(), 'patgate-config-'));
    try {
      for (const [i, [text, expected]] of cases.entries()) {
        const file = join(scratch, `c${i}.yaml`);
        await writeFile(file, text);
        const result = await runCli(['routes', 'check', '--config', file]);
        expect(result.code, result.stdout + result.stderr).not.toBe(0);
        expect(result.stdout + result.stderr).toMatch(expected);
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
