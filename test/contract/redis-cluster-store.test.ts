import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ORG_POLICY } from '../../src/grants/owner.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { RedisClusterGrantStore } from '../../src/store/redis-cluster-store.js';
import { ClusterKeys } from '../../src/store/redis-keys.js';
import { RedisGrantStore } from '../../src/store/redis-store.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { grantStoreContract } from './grant-store.contract.js';
import { classic, fineGrained, randomHash, recordInvalidations } from './token-fixtures.js';

const COMMAND_TIMEOUT_MS = 500;

let cluster: TestCluster;
let standalone: TestRedis;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  [cluster, standalone] = await Promise.all([startRedisCluster(), startRedisServer()]);
}, 60_000);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  await Promise.all([cluster?.stop(), standalone?.stop()]);
});

function uniquePrefix(): string {
  return `patgate-test:${randomBytes(6).toString('hex')}:`;
}

function nodes(): { host: string; port: number }[] {
  return cluster.nodes.map((address) => {
    const colon = address.lastIndexOf(':');
    return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
  });
}

async function openStore(keyPrefix = uniquePrefix()): Promise<RedisClusterGrantStore> {
  const store = new RedisClusterGrantStore({
    nodes: nodes(),
    keyPrefix,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
  });
  opened.push(store);
  await store.ready();
  return store;
}

function openClient(): Cluster {
  const client = new Cluster(nodes());
  opened.push({ close: () => client.quit() });
  return client;
}

grantStoreContract('RedisClusterGrantStore', async () => {
  const store = await openStore();
  opened.pop();
  return store;
});

describe('RedisClusterGrantStore', () => {
  it('leaves no timer behind once closed (handle leak: a second disconnect of the subscriber armed a 2 s timer)', async () => {
    const store = new RedisClusterGrantStore({
      nodes: nodes(),
      keyPrefix: uniquePrefix(),
      commandTimeoutMs: 1_000,
    });
    await store.ready();
    await vi.waitFor(() => expect(store.isSynchronized()).toBe(true), { timeout: 5_000 });
    const armed: NodeJS.Timeout[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
      ...args: Parameters<typeof setTimeout>
    ) => {
      const timer = real(...args);
      armed.push(timer);
      return timer;
    }) as typeof setTimeout);
    try {
      await store.close();
    } finally {
      spy.mockRestore();
    }
    // Node connections finish closing just after; ioredis clears each one's timer on its 'close'.
    // A timer still running after that keeps a stopping process alive past its "stopped" line.
    // A timer that fired or was cleared is `_destroyed` (hasRef() stays true on a cleared one).
    const running = (): number =>
      armed.filter((timer) => !(timer as unknown as { _destroyed: boolean })._destroyed).length;
    await vi.waitFor(() => expect(running()).toBe(0), {
      timeout: 1_500,
      interval: 20,
    });
  });

  it('keeps a fine-grained token, its owner policy and members in the owner slot', async () => {
    const prefix = uniquePrefix();
    const store = await openStore(prefix);
    const keys = new ClusterKeys(prefix);
    const hash = randomHash();
    const record = fineGrained({ resourceOwner: 'acme' });
    await store.createToken(hash, record);
    await store.setMember('acme', 'alice', 'member');
    const client = openClient();
    const slotOf = async (key: string): Promise<number> => Number(await client.cluster('KEYSLOT', key));
    const slot = await slotOf(keys.token('acme', hash));
    expect(await slotOf(keys.policy('acme'))).toBe(slot);
    expect(await slotOf(keys.members('acme'))).toBe(slot);
    expect(await slotOf(keys.tokenId('acme', record.id))).toBe(slot);
    expect(await client.exists(keys.token('acme', hash))).toBe(1);
    expect(await client.get(keys.hashHome(hash))).toBe('acme');
  });

  it('answers as the standalone store for tokens used against their owner, another owner, or none', async () => {
    const cl = await openStore();
    const sa = new RedisGrantStore({
      url: standalone.url,
      keyPrefix: uniquePrefix(),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    opened.push(sa);
    await sa.ready();
    const fine = fineGrained({ resourceOwner: 'acme', user: 'alice' });
    const wide = classic({ user: 'alice' });
    const fineHash = randomHash();
    const wideHash = randomHash();
    for (const store of [cl, sa]) {
      await store.createToken(fineHash, fine);
      await store.createToken(wideHash, wide);
      await store.setMember('acme', 'alice', 'admin');
      await store.setOrgPolicy('globex', { ...DEFAULT_ORG_POLICY, classicTokens: 'blocked' });
    }
    const cases: [string, string, 'fine_grained' | 'classic' | undefined][] = [
      [fineHash, 'acme', 'fine_grained'],
      [fineHash, 'globex', 'fine_grained'],
      [fineHash, 'alice', 'fine_grained'],
      [fineHash, '', undefined],
      [wideHash, 'acme', 'classic'],
      [wideHash, 'globex', 'classic'],
      [wideHash, 'alice', 'classic'],
      [wideHash, 'nobody', undefined],
      [wideHash, 'acme', undefined],
      [wideHash, '', 'classic'],
      [randomHash(), 'acme', 'fine_grained'],
      [randomHash(), 'acme', 'classic'],
    ];
    for (const [hash, owner, kind] of cases) {
      expect(await cl.lookup(hash, owner, kind), `${hash.slice(0, 6)} against ${owner}`).toEqual(
        await sa.lookup(hash, owner),
      );
    }
  });

  it('publishes a revocation on the sharded channel to every instance within a second', async () => {
    const prefix = uniquePrefix();
    const a = await openStore(prefix);
    const b = await openStore(prefix);
    const seen = recordInvalidations(b);
    const hash = randomHash();
    const record = fineGrained();
    await a.createToken(hash, record);
    const started = Date.now();
    await a.setTokenStatus(record.id, 'revoked');
    await seen.next((e) => e.kind === 'token' && e.tokenHash === hash, 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(b.isSynchronized()).toBe(true);
  });

  it('fails closed on a pointer that names no login', async () => {
    const prefix = uniquePrefix();
    const store = await openStore(prefix);
    const keys = new ClusterKeys(prefix);
    const hash = randomHash();
    await openClient().set(keys.hashHome(hash), '{evil}');
    await expect(store.lookup(hash, 'acme', 'fine_grained')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('fails closed on a record stored outside its home', async () => {
    const prefix = uniquePrefix();
    const store = await openStore(prefix);
    const keys = new ClusterKeys(prefix);
    const hash = randomHash();
    // globex's slot holds a record that says it belongs to acme.
    await openClient().set(
      keys.token('globex', hash),
      JSON.stringify(fineGrained({ resourceOwner: 'acme' })),
    );
    await expect(store.lookup(hash, 'globex', 'fine_grained')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
