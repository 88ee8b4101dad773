import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY } from '../../src/grants/owner.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import type { Invitation } from '../../src/store/grant-store.js';
import { RedisGrantStore, type StoreFailureKind } from '../../src/store/redis-store.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { classic, fineGrained, randomHash } from './token-fixtures.js';

/**
 * "Records trusted as read", at the store: what another writer left in Redis is
 * decoded strictly; what does not decode fails the read that met it, is counted
 * and is logged once per key. Written raw under the store's key layout (redis-keys.ts).
 */
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

interface Harness {
  readonly store: RedisGrantStore;
  readonly raw: Redis;
  readonly p: string;
  readonly failures: StoreFailureKind[];
  readonly logged: { key: string; msg: string }[];
}

async function harness(): Promise<Harness> {
  const p = `patgate-records:${randomBytes(6).toString('hex')}:`;
  const failures: StoreFailureKind[] = [];
  const logged: { key: string; msg: string }[] = [];
  const log = (obj: object, msg: string): void => {
    logged.push({ key: String(Reflect.get(obj, 'key')), msg });
  };
  const store = new RedisGrantStore({
    url: redis.url,
    keyPrefix: p,
    commandTimeoutMs: 1000,
    logger: { warn: () => {}, error: log },
    observer: { commandFailed: (kind) => failures.push(kind) },
  });
  opened.push(store);
  await store.ready();
  const raw = new Redis(redis.url);
  opened.push({ close: () => raw.quit() });
  return { store, raw, p, failures, logged };
}

async function rejected(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(StoreUnavailableError);
}

describe('RedisGrantStore: records trusted as read', () => {
  const corruptTokens: [string, string][] = [
    ['an unknown status', JSON.stringify({ ...fineGrained(), status: 'frozen' })],
    ['repositories as a string', JSON.stringify({ ...fineGrained(), repositories: 'api' })],
    ['an unknown level', JSON.stringify({ ...fineGrained(), permissions: { issues: 'root' } })],
    ['an unknown scope', JSON.stringify({ ...classic(), scopes: ['root'] })],
    ['an unknown field', JSON.stringify({ ...classic(), ipAllowlist: [] })],
    ['an owner that is no login', JSON.stringify({ ...fineGrained(), resourceOwner: 'a:b' })],
  ];

  it.each(corruptTokens)('fails the lookup and getToken of a token record with %s', async (_label, json) => {
    const { store, raw, p, failures } = await harness();
    const hash = randomHash();
    const id = (JSON.parse(json) as { id: string }).id;
    await raw.set(`${p}tok:${hash}`, json);
    await raw.set(`${p}tokid:${id}`, hash);
    await rejected(store.lookup(hash, 'acme'));
    await rejected(store.getToken(id));
    await rejected(store.setTokenStatus(id, 'revoked'));
    expect(await raw.get(`${p}tok:${hash}`)).toBe(json);
    // Counted where an error reply from Redis is, so an alert on it sees them.
    expect(failures).toEqual(['error', 'error', 'error']);
  });

  it('logs a corrupt record once per key, however often it is read', async () => {
    const { store, raw, p, failures, logged } = await harness();
    const hash = randomHash();
    await raw.set(`${p}tok:${hash}`, JSON.stringify({ ...fineGrained(), status: 'frozen' }));
    for (let i = 0; i < 5; i++) await rejected(store.lookup(hash, 'acme'));
    expect(failures).toHaveLength(5);
    expect(logged).toEqual([{ key: `${p}tok:${hash}`, msg: expect.stringMatching(/corrupt record/) }]);
  });

  it("fails the lookups that reach an org whose policy does not decode, naming the policy's key", async () => {
    const { store, raw, p, logged } = await harness();
    const hash = randomHash();
    await store.createToken(hash, classic({ user: 'alice' }));
    await store.setMember('acme', 'alice', 'member');
    await raw.set(`${p}org:acme:policy`, JSON.stringify({ ...DEFAULT_ORG_POLICY, classicTokens: 'Blocked' }));
    await rejected(store.lookup(hash, 'acme'));
    await rejected(store.getOrgPolicy('acme'));
    expect(logged.map((l) => l.key)).toEqual([`${p}org:acme:policy`]);
    // The same token elsewhere is unaffected.
    expect(await store.lookup(hash, 'alice')).toMatchObject({ owner: { org: null } });
  });

  it('fails the lookups and member listing of an org holding a role patgate does not know', async () => {
    const { store, raw, p } = await harness();
    const hash = randomHash();
    await store.createToken(hash, classic({ user: 'alice' }));
    await store.setMember('acme', 'bob', 'member');
    await raw.hset(`${p}org:acme:members`, 'alice', 'owner');
    await rejected(store.lookup(hash, 'acme'));
    await rejected(store.getMembers('acme'));
  });

  it('leaves a corrupt record out of a token listing, and lists the rest', async () => {
    const { store, raw, p, logged } = await harness();
    const good = fineGrained();
    await store.createToken(randomHash(), good);
    const bad = fineGrained();
    const badHash = randomHash();
    await store.createToken(badHash, bad);
    await raw.set(`${p}tok:${badHash}`, JSON.stringify({ ...bad, status: 'frozen' }), 'KEEPTTL');
    expect((await store.listTokens({})).map((r) => r.id)).toEqual([good.id]);
    expect(logged.map((l) => l.key)).toEqual([`${p}tok:${badHash}`]);
  });

  it('reads a well-formed record with upper-case names as the lower-cased owner and user', async () => {
    const { store, raw, p } = await harness();
    await store.setOrgPolicy('acme', { ...DEFAULT_ORG_POLICY, requireApproval: true });
    await store.setMember('acme', 'alice', 'admin');
    const record = fineGrained({ user: 'alice', resourceOwner: 'acme', repositories: ['api'] });
    const hash = randomHash();
    await raw.set(
      `${p}tok:${hash}`,
      JSON.stringify({ ...record, user: 'ALICE', resourceOwner: 'ACME', repositories: ['API'] }),
    );
    // Without lower-casing in the script, org:ACME: is empty: an unregistered owner, no policy at all.
    expect(await store.lookup(hash, 'whatever')).toEqual({
      token: record,
      owner: { org: { policy: { ...DEFAULT_ORG_POLICY, requireApproval: true }, role: 'admin' } },
    });
  });

  describe('invitations', () => {
    const invitation: Invitation = {
      org: 'acme',
      user: 'bob',
      role: 'member',
      invitedBy: 'site_admin',
      createdAt: '2025-01-01T00:00:00.000Z',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    };

    it('refuses to accept an invitation that does not decode, and writes nothing', async () => {
      const { store, raw, p } = await harness();
      await store.createInvitation(invitation);
      await raw.set(`${p}inv:acme:bob`, JSON.stringify({ ...invitation, role: 'owner' }), 'KEEPTTL');
      await rejected(store.acceptInvitation('acme', 'bob', Date.now()));
      expect(await store.getMembers('acme')).toEqual(new Map());
      expect(await store.listInvitations({ org: 'acme' })).toEqual([]);
    });

    it('refuses an invitation stored under another org or user: it would make the wrong member', async () => {
      const { store, raw, p } = await harness();
      await store.createInvitation(invitation);
      await raw.set(`${p}inv:acme:bob`, JSON.stringify({ ...invitation, user: 'mallory' }), 'KEEPTTL');
      await rejected(store.acceptInvitation('acme', 'bob', Date.now()));
      expect(await store.getMembers('acme')).toEqual(new Map());
      expect(await store.listInvitations({ user: 'bob' })).toEqual([]);
      expect(await store.listInvitations({ org: 'acme', user: 'bob' })).toEqual([]);
    });

    it('expires the invitation key at expiresAt, and drops index entries of keys that are gone', async () => {
      const { store, raw, p } = await harness();
      await store.createInvitation(invitation);
      expect(await raw.pexpiretime(`${p}inv:acme:bob`)).toBe(Date.parse(invitation.expiresAt));
      await raw.del(`${p}inv:acme:bob`);
      expect(await store.listInvitations({ org: 'acme' })).toEqual([]);
      expect(await raw.zcard(`${p}org:acme:invitations`)).toBe(0);
    });
  });
});
