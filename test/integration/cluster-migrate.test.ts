import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantStore } from '../../src/store/grant-store.js';
import { RedisAuditLog } from '../../src/store/redis-audit-log.js';
import { RedisClusterGrantStore } from '../../src/store/redis-cluster-store.js';
import { ClusterKeys } from '../../src/store/redis-keys.js';
import { RedisGrantStore } from '../../src/store/redis-store.js';
import { classic, fineGrained, randomHash } from '../contract/token-fixtures.js';
import { startRedisCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';

const run = promisify(execFile);
const MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');
const PREFIX = 'pgmigrate:';
const HOUR_MS = 3_600_000;

let cluster: TestCluster;
let source: TestRedis;
let back: TestRedis;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  [cluster, source, back] = await Promise.all([startRedisCluster(), startRedisServer(), startRedisServer()]);
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
  await Promise.all([cluster?.stop(), source?.stop(), back?.stop()]);
});

function nodes(): { host: string; port: number }[] {
  return cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.slice(n.lastIndexOf(':') + 1)) }));
}

async function standaloneStore(url: string): Promise<RedisGrantStore> {
  const store = new RedisGrantStore({ url, keyPrefix: PREFIX, commandTimeoutMs: 1_000 });
  opened.push(store);
  await store.ready();
  return store;
}

async function migrate(from: string, to: string, ...flags: string[]): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, [
    MAIN,
    'store',
    'migrate',
    '--from',
    from,
    '--to',
    to,
    '--key-prefix',
    PREFIX,
    ...flags,
  ]);
  const counts: Record<string, number> = {};
  for (const match of stdout.matchAll(/^ {2}(\w+): (\d+)$/gm)) counts[match[1] ?? ''] = Number(match[2]);
  return counts;
}

describe('patgate store migrate', () => {
  it('copies a standalone store into the Cluster layout and back, idempotently, with a dry run', async () => {
    const old = await standaloneStore(source.url);
    const fine = fineGrained({ resourceOwner: 'acme', user: 'alice' });
    const other = fineGrained({ resourceOwner: 'globex', user: 'bob' });
    const wide = classic({ user: 'alice' });
    const [fineHash, otherHash, wideHash, newHash] = [randomHash(), randomHash(), randomHash(), randomHash()];
    await old.createToken(fineHash, fine);
    await old.createToken(otherHash, other);
    await old.createToken(wideHash, wide);
    await old.setMember('acme', 'alice', 'admin');
    await old.setMember('globex', 'bob', 'member');
    await old.setOrgPolicy('initech', {
      requireApproval: true,
      maxLifetimeDays: 30,
      classicTokens: 'blocked',
      fineGrainedTokens: 'allowed',
    });
    await old.setTokenStatus(other.id, 'revoked', 'left');
    // The old secret keeps working for an hour: its grace alias comes along.
    await old.replaceTokenSecret(
      fine.id,
      newHash,
      fine.expiresAt,
      new Date(Date.now() + HOUR_MS).toISOString(),
    );
    await old.recordLastUsed(new Map([[wide.id, '2025-06-01T00:00:00.000Z']]));
    await old.createInvitation({
      org: 'acme',
      user: 'carol',
      role: 'member',
      invitedBy: 'alice',
      createdAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 24 * HOUR_MS).toISOString(),
    });
    const audit = new RedisAuditLog({
      url: source.url,
      keyPrefix: PREFIX,
      commandTimeoutMs: 1_000,
      maxEvents: 100,
    });
    opened.push(audit);
    for (const action of ['token.create', 'token.revoke'] as const) {
      await audit.append({
        actor: { kind: 'site_admin' },
        action,
        org: 'globex',
        tokenId: other.id,
        user: 'bob',
        reason: null,
        details: {},
      });
    }

    const dry = await migrate(source.url, cluster.url, '--dry-run');
    expect(dry).toMatchObject({
      tokens: 3,
      graceAliases: 1,
      orgs: 3,
      members: 2,
      invitations: 1,
      lastUsed: 1,
      auditEntries: 2,
      newAuditEntries: 2,
      skipped: 0,
    });
    const target = new RedisClusterGrantStore({ nodes: nodes(), keyPrefix: PREFIX, commandTimeoutMs: 1_000 });
    opened.push(target);
    await target.ready();
    expect(await target.getToken(fine.id)).toBeNull();

    expect(await migrate(source.url, cluster.url)).toMatchObject({ tokens: 3, newAuditEntries: 2 });
    await expectSameAnswers(old, target, [fineHash, otherHash, wideHash, newHash]);
    expect(await target.listTokens({})).toEqual(await old.listTokens({}));
    expect(await target.getLastUsed(wide.id)).toBe('2025-06-01T00:00:00.000Z');
    expect(await target.listInvitations({ user: 'carol' })).toEqual(
      await old.listInvitations({ user: 'carol' }),
    );
    expect(await target.getOrgPolicy('initech')).toEqual(await old.getOrgPolicy('initech'));
    const clusterAudit = new RedisAuditLog({
      url: '',
      cluster: { nodes: nodes() },
      keyPrefix: new ClusterKeys(PREFIX).sidePrefix(),
      commandTimeoutMs: 1_000,
      maxEvents: 100,
    });
    opened.push(clusterAudit);
    expect(await clusterAudit.list({ limit: 10 })).toEqual(await audit.list({ limit: 10 }));

    // A second run changes nothing and appends no audit entry twice.
    expect(await migrate(source.url, cluster.url)).toMatchObject({ tokens: 3, newAuditEntries: 0 });
    expect(await clusterAudit.list({ limit: 10 })).toHaveLength(2);

    // And back, into an empty standalone Redis.
    expect(await migrate(cluster.url, back.url)).toMatchObject({
      tokens: 3,
      graceAliases: 1,
      orgs: 3,
      newAuditEntries: 2,
    });
    await expectSameAnswers(old, await standaloneStore(back.url), [fineHash, otherHash, wideHash, newHash]);
  }, 60_000);

  it('refuses a URL it cannot read, naming the form it wants', async () => {
    await expect(migrate('redis://a:1,b:2', cluster.url)).rejects.toThrow(/redis\+cluster:\/\//);
  });
});

async function expectSameAnswers(expected: GrantStore, actual: GrantStore, hashes: string[]): Promise<void> {
  for (const hash of [...hashes, randomHash()]) {
    for (const owner of ['acme', 'globex', 'alice', 'initech', '']) {
      expect(await actual.lookup(hash, owner), `${hash.slice(0, 6)} against ${owner}`).toEqual(
        await expected.lookup(hash, owner),
      );
    }
  }
}
