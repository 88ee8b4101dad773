import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../../src/grants/owner.js';
import type { TokenRecord } from '../../src/grants/token-record.js';
import { StoreConflictError } from '../../src/store/errors.js';
import type { GrantStore, Invitation } from '../../src/store/grant-store.js';
import { classic, fineGrained, randomHash, recordInvalidations, tryMutate } from './token-fixtures.js';

const STRICT_POLICY: OrgPolicy = {
  requireApproval: true,
  maxLifetimeDays: 90,
  classicTokens: 'blocked',
  fineGrainedTokens: 'allowed',
};

const HOUR_MS = 60 * 60 * 1000;

function invitation(overrides: Partial<Invitation> = {}): Invitation {
  return {
    org: 'acme',
    user: 'bob',
    role: 'member',
    invitedBy: 'carol',
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: new Date(Date.now() + 24 * HOUR_MS).toISOString(),
    ...overrides,
  };
}

/**
 * The behaviour every GrantStore shares. `makeStore` returns a fresh, empty,
 * ready store for each test; the suite closes it.
 */
export function grantStoreContract(name: string, makeStore: () => Promise<GrantStore>): void {
  describe(`GrantStore contract: ${name}`, () => {
    let store: GrantStore;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store.close();
    });

    async function created<T extends TokenRecord>(
      record: T,
      hash = randomHash(),
    ): Promise<{ record: T; hash: string }> {
      await store.createToken(hash, record);
      return { record, hash };
    }

    it('is synchronized once ready: its invalidations reach this instance', () => {
      expect(store.isSynchronized()).toBe(true);
    });

    describe('tokens', () => {
      it('round-trips a created token through getToken and lookup', async () => {
        const { record, hash } = await created(fineGrained());
        expect(await store.getToken(record.id)).toEqual(record);
        expect(await store.lookup(hash, 'acme')).toEqual({ token: record, owner: { org: null } });
      });

      it('keeps a description as written, through a status change and a new secret', async () => {
        const description = 'Deploys acme/api from CI.\nOwner: platform team — «ops»';
        const { record, hash } = await created(fineGrained({ description }));
        expect(await store.getToken(record.id)).toEqual({ ...record, description });
        expect((await store.lookup(hash, 'acme'))?.token.description).toBe(description);
        expect((await store.setTokenStatus(record.id, 'revoked', 'done'))?.description).toBe(description);
        const replaced = await store.replaceTokenSecret(record.id, randomHash(), '2031-06-01T00:00:00.000Z');
        expect(replaced?.description).toBe(description);
        expect((await store.listTokens({ user: record.user }))[0]?.description).toBe(description);
      });

      it('returns null for an unknown hash or id', async () => {
        expect(await store.lookup(randomHash(), 'acme')).toBeNull();
        expect(await store.getToken('tok_aaaaaaaaaaaaaaaaaaaa')).toBeNull();
      });

      it('refuses a duplicate hash and writes nothing of the second record', async () => {
        const { record, hash } = await created(fineGrained());
        const second = classic();
        await expect(store.createToken(hash, second)).rejects.toBeInstanceOf(StoreConflictError);
        expect(await store.getToken(second.id)).toBeNull();
        expect(await store.lookup(hash, 'acme')).toMatchObject({ token: record });
        expect((await store.listTokens({})).map((r) => r.id)).toEqual([record.id]);
      });

      it('refuses a duplicate id and writes nothing of the second record', async () => {
        const { record, hash } = await created(fineGrained());
        const otherHash = randomHash();
        await expect(store.createToken(otherHash, classic({ id: record.id }))).rejects.toBeInstanceOf(
          StoreConflictError,
        );
        expect(await store.lookup(otherHash, 'acme')).toBeNull();
        expect(await store.getToken(record.id)).toEqual(record);
        expect(await store.lookup(hash, 'acme')).toMatchObject({ token: record });
      });

      it('sets status and reason, reflected by getToken and lookup', async () => {
        const { record, hash } = await created(fineGrained());
        const revoked = await store.setTokenStatus(record.id, 'revoked', 'leaked in a log');
        expect(revoked).toMatchObject({ id: record.id, status: 'revoked', statusReason: 'leaked in a log' });
        expect(Number.isNaN(Date.parse(revoked?.revokedAt ?? ''))).toBe(false);
        expect(await store.getToken(record.id)).toEqual(revoked);
        expect((await store.lookup(hash, 'acme'))?.token).toEqual(revoked);
      });

      it('drops the old reason when the status changes again', async () => {
        const { record } = await created(fineGrained({ status: 'pending' }));
        await store.setTokenStatus(record.id, 'denied', 'too broad');
        const active = await store.setTokenStatus(record.id, 'active');
        expect(active?.status).toBe('active');
        expect(active?.statusReason).toBeUndefined();
        expect(active?.revokedAt).toBeUndefined();
      });

      it('returns null when setting the status of an unknown id', async () => {
        expect(await store.setTokenStatus('tok_aaaaaaaaaaaaaaaaaaaa', 'revoked')).toBeNull();
      });

      it('replaces the secret: old hash stops resolving, new one works, same id', async () => {
        const { record, hash } = await created(fineGrained());
        const newHash = randomHash();
        const expiresAt = '2031-06-01T00:00:00.000Z';
        const before = Date.now();
        const replaced = await store.replaceTokenSecret(record.id, newHash, expiresAt);
        expect(replaced).toEqual({ ...record, expiresAt, regeneratedAt: expect.any(String) });
        // The lifetime starts again: regeneratedAt is stamped at the replacement.
        expect(Date.parse(replaced?.regeneratedAt ?? '')).toBeGreaterThanOrEqual(before - 1000);
        expect(await store.lookup(hash, 'acme')).toBeNull();
        expect(await store.lookup(newHash, 'acme')).toEqual({ token: replaced, owner: { org: null } });
        expect(await store.getToken(record.id)).toEqual(replaced);
        expect((await store.listTokens({})).map((r) => r.id)).toEqual([record.id]);
      });

      it('refuses to replace onto a hash another token holds, changing nothing', async () => {
        const first = await created(fineGrained());
        const second = await created(classic());
        await expect(
          store.replaceTokenSecret(first.record.id, second.hash, '2031-01-01T00:00:00.000Z'),
        ).rejects.toBeInstanceOf(StoreConflictError);
        expect(await store.lookup(first.hash, 'acme')).toMatchObject({ token: first.record });
        expect(await store.lookup(second.hash, 'acme')).toMatchObject({ token: second.record });
      });

      it('returns null when replacing the secret of an unknown id', async () => {
        expect(
          await store.replaceTokenSecret(
            'tok_aaaaaaaaaaaaaaaaaaaa',
            randomHash(),
            '2031-01-01T00:00:00.000Z',
          ),
        ).toBeNull();
      });

      it('lists tokens oldest first, filtered by user, resource owner and status', async () => {
        const a = fineGrained({
          user: 'alice',
          resourceOwner: 'acme',
          createdAt: '2025-01-01T00:00:00.000Z',
        });
        const b = fineGrained({ user: 'bob', resourceOwner: 'acme', createdAt: '2025-01-02T00:00:00.000Z' });
        const c = fineGrained({
          user: 'alice',
          resourceOwner: 'beta',
          createdAt: '2025-01-03T00:00:00.000Z',
        });
        const d = classic({ user: 'alice', createdAt: '2025-01-04T00:00:00.000Z', status: 'revoked' });
        for (const record of [c, a, d, b]) await created(record);
        const ids = async (filter: Parameters<GrantStore['listTokens']>[0]): Promise<string[]> =>
          (await store.listTokens(filter)).map((r) => r.id);
        expect(await ids({})).toEqual([a.id, b.id, c.id, d.id]);
        expect(await ids({ user: 'alice' })).toEqual([a.id, c.id, d.id]);
        expect(await ids({ resourceOwner: 'acme' })).toEqual([a.id, b.id]);
        expect(await ids({ status: 'revoked' })).toEqual([d.id]);
        expect(await ids({ user: 'alice', resourceOwner: 'acme', status: 'active' })).toEqual([a.id]);
        expect(await ids({ user: 'carol' })).toEqual([]);
      });

      it('records last use in batches, keeping the latest instant', async () => {
        const { record: a } = await created(fineGrained());
        const { record: b } = await created(classic());
        expect(await store.getLastUsed(a.id)).toBeNull();
        await store.recordLastUsed(
          new Map([
            [a.id, '2025-03-01T10:00:00.000Z'],
            [b.id, '2025-03-01T11:00:00.000Z'],
          ]),
        );
        await store.recordLastUsed(new Map([[a.id, '2025-02-01T00:00:00.000Z']]));
        await store.recordLastUsed(new Map([[b.id, '2025-03-02T00:00:00.000Z']]));
        await store.recordLastUsed(new Map());
        expect(await store.getLastUsed(a.id)).toBe('2025-03-01T10:00:00.000Z');
        expect(await store.getLastUsed(b.id)).toBe('2025-03-02T00:00:00.000Z');
      });
    });

    describe('owners', () => {
      it('stores org policies', async () => {
        expect(await store.getOrgPolicy('acme')).toBeNull();
        await store.setOrgPolicy('acme', STRICT_POLICY);
        expect(await store.getOrgPolicy('acme')).toEqual(STRICT_POLICY);
        await store.setOrgPolicy('acme', DEFAULT_ORG_POLICY);
        expect(await store.getOrgPolicy('acme')).toEqual(DEFAULT_ORG_POLICY);
      });

      it('stores members and their roles', async () => {
        expect(await store.getMembers('acme')).toEqual(new Map());
        await store.setMember('acme', 'alice', 'member');
        await store.setMember('acme', 'bob', 'admin');
        await store.setMember('acme', 'alice', 'admin');
        expect(await store.getMembers('acme')).toEqual(
          new Map([
            ['alice', 'admin'],
            ['bob', 'admin'],
          ]),
        );
        expect(await store.removeMember('acme', 'alice')).toBe(true);
        expect(await store.removeMember('acme', 'alice')).toBe(false);
        expect(await store.getMembers('acme')).toEqual(new Map([['bob', 'admin']]));
      });

      it('fine-grained lookup reads the token owner, whatever owner is passed', async () => {
        const { record, hash } = await created(fineGrained({ resourceOwner: 'acme', user: 'alice' }));
        await store.setMember('acme', 'alice', 'member');
        await store.setOrgPolicy('beta', STRICT_POLICY);
        const expected = { token: record, owner: { org: { policy: DEFAULT_ORG_POLICY, role: 'member' } } };
        expect(await store.lookup(hash, 'beta')).toEqual(expected);
        expect(await store.lookup(hash, 'acme')).toEqual(expected);
      });

      it('classic lookup reads the org state of the owner passed', async () => {
        const { record, hash } = await created(classic({ user: 'alice' }));
        await store.setMember('acme', 'alice', 'admin');
        await store.setOrgPolicy('beta', STRICT_POLICY);
        await store.setMember('beta', 'bob', 'member');
        expect(await store.lookup(hash, 'acme')).toEqual({
          token: record,
          owner: { org: { policy: DEFAULT_ORG_POLICY, role: 'admin' } },
        });
        expect(await store.lookup(hash, 'beta')).toEqual({
          token: record,
          owner: { org: { policy: STRICT_POLICY, role: null } },
        });
        expect(await store.lookup(hash, 'alice')).toEqual({ token: record, owner: { org: null } });
      });

      it('an owner is registered once it has a policy or a member, and stays registered', async () => {
        const { hash } = await created(classic({ user: 'alice' }));
        await store.setOrgPolicy('policy-only', STRICT_POLICY);
        await store.setMember('members-only', 'bob', 'member');
        expect((await store.lookup(hash, 'policy-only'))?.owner).toEqual({
          org: { policy: STRICT_POLICY, role: null },
        });
        expect((await store.lookup(hash, 'members-only'))?.owner).toEqual({
          org: { policy: DEFAULT_ORG_POLICY, role: null },
        });
        // Removing the last member must not unregister the org: the removed member's
        // tokens would otherwise reach it again as if it were a plain account.
        await store.removeMember('members-only', 'bob');
        expect((await store.lookup(hash, 'members-only'))?.owner).toEqual({
          org: { policy: DEFAULT_ORG_POLICY, role: null },
        });
        expect(await store.getOrgPolicy('members-only')).toEqual(DEFAULT_ORG_POLICY);
        await store.setOrgPolicy('members-only', STRICT_POLICY);
        await store.setMember('members-only', 'bob', 'admin');
        expect(await store.getOrgPolicy('members-only')).toEqual(STRICT_POLICY);
        expect((await store.lookup(hash, 'nobody'))?.owner).toEqual({ org: null });
      });
    });

    describe('names compare case-insensitively (records trusted as read)', () => {
      it('lower-cases the owner, user and repositories of a token on write', async () => {
        const shouted = fineGrained({ user: 'Alice', resourceOwner: 'ACME', repositories: ['API', 'Web'] });
        const { hash } = await created(shouted);
        const stored = { ...shouted, user: 'alice', resourceOwner: 'acme', repositories: ['api', 'web'] };
        expect(await store.getToken(shouted.id)).toEqual(stored);
        expect((await store.listTokens({ user: 'ALICE', resourceOwner: 'Acme' })).map((r) => r.id)).toEqual([
          shouted.id,
        ]);
        await store.setMember('Acme', 'ALICE', 'member');
        expect(await store.lookup(hash, 'beta')).toEqual({
          token: stored,
          owner: { org: { policy: DEFAULT_ORG_POLICY, role: 'member' } },
        });
      });

      it('lower-cases org and user names of policies and members, and publishes the lower-cased org', async () => {
        const events = recordInvalidations(store);
        await store.setOrgPolicy('ACME', STRICT_POLICY);
        await events.next((e) => e.kind === 'owner' && e.owner === 'acme');
        await store.setMember('Acme', 'Bob', 'admin');
        expect(await store.getOrgPolicy('acme')).toEqual(STRICT_POLICY);
        expect(await store.getOrgPolicy('ACME')).toEqual(STRICT_POLICY);
        expect(await store.getMembers('aCmE')).toEqual(new Map([['bob', 'admin']]));
        const { hash } = await created(classic({ user: 'BOB' }));
        expect((await store.lookup(hash, 'ACME'))?.owner).toEqual({
          org: { policy: STRICT_POLICY, role: 'admin' },
        });
        expect(await store.removeMember('ACME', 'BOB')).toBe(true);
        expect(await store.getMembers('acme')).toEqual(new Map());
      });

      it('refuses with a TypeError a write no read could accept back, and stores nothing', async () => {
        const hash = randomHash();
        const broken = { ...fineGrained(), repositories: 'api' } as unknown as TokenRecord;
        await expect(store.createToken(hash, broken)).rejects.toBeInstanceOf(TypeError);
        const long = fineGrained({ description: 'x'.repeat(1025) });
        await expect(store.createToken(hash, long)).rejects.toBeInstanceOf(TypeError);
        expect(await store.lookup(hash, 'acme')).toBeNull();
        await expect(store.setMember('acme:members', 'bob', 'member')).rejects.toBeInstanceOf(TypeError);
        await expect(
          store.setOrgPolicy('acme', { ...STRICT_POLICY, classicTokens: 'maybe' } as unknown as OrgPolicy),
        ).rejects.toBeInstanceOf(TypeError);
        expect(await store.getOrgPolicy('acme')).toBeNull();
      });
    });

    describe('invitations', () => {
      it('creates, and lists by org, by user and all, oldest first', async () => {
        const first = invitation({ org: 'acme', user: 'bob', createdAt: '2025-01-01T00:00:00.000Z' });
        const second = invitation({ org: 'beta', user: 'bob', createdAt: '2025-01-02T00:00:00.000Z' });
        const third = invitation({
          org: 'acme',
          user: 'dave',
          role: 'admin',
          createdAt: '2025-01-03T00:00:00.000Z',
        });
        for (const each of [third, first, second]) await store.createInvitation(each);
        expect(await store.listInvitations({ org: 'acme' })).toEqual([first, third]);
        expect(await store.listInvitations({ user: 'bob' })).toEqual([first, second]);
        expect(await store.listInvitations({ org: 'acme', user: 'dave' })).toEqual([third]);
        expect(await store.listInvitations({})).toEqual([first, second, third]);
        expect(await store.listInvitations({ org: 'gamma' })).toEqual([]);
        expect(await store.listInvitations({ org: 'beta', user: 'dave' })).toEqual([]);
      });

      it('lower-cases names on write and on read', async () => {
        await store.createInvitation(invitation({ org: 'ACME', user: 'Bob', invitedBy: 'Carol' }));
        const stored = invitation({ invitedBy: 'carol' });
        expect(await store.listInvitations({ org: 'Acme' })).toEqual([
          { ...stored, expiresAt: expect.any(String) },
        ]);
        expect(await store.listInvitations({ user: 'BOB' })).toHaveLength(1);
        expect(await store.acceptInvitation('ACME', 'BOB', Date.now())).toBe('member');
        expect(await store.getMembers('acme')).toEqual(new Map([['bob', 'member']]));
      });

      it('replaces the invitation of the same user to the same org', async () => {
        await store.createInvitation(invitation({ role: 'member' }));
        const again = invitation({ role: 'admin', createdAt: '2025-02-01T00:00:00.000Z' });
        await store.createInvitation(again);
        expect(await store.listInvitations({ org: 'acme' })).toEqual([again]);
        expect(await store.listInvitations({ user: 'bob' })).toEqual([again]);
        expect(await store.listInvitations({})).toEqual([again]);
      });

      it('forgets an invitation past its expiry: listed nowhere, not acceptable, not deletable', async () => {
        const past = invitation({ expiresAt: new Date(Date.now() - HOUR_MS).toISOString() });
        await store.createInvitation(past);
        await store.createInvitation(invitation({ user: 'dave' }));
        expect((await store.listInvitations({ org: 'acme' })).map((i) => i.user)).toEqual(['dave']);
        expect(await store.listInvitations({ user: 'bob' })).toEqual([]);
        expect(await store.acceptInvitation('acme', 'bob', Date.now())).toBeNull();
        expect(await store.deleteInvitation('acme', 'bob')).toBe(false);
        expect(await store.getMembers('acme')).toEqual(new Map());
      });

      it('refuses an acceptance later than the expiry, writing nothing', async () => {
        const pending = invitation();
        await store.createInvitation(pending);
        const late = Date.parse(pending.expiresAt) + 1;
        expect(await store.acceptInvitation('acme', 'bob', late)).toBeNull();
        expect(await store.getMembers('acme')).toEqual(new Map());
        expect(await store.listInvitations({ org: 'acme' })).toEqual([pending]);
      });

      it('accepts: the user becomes a member with the invitation role, the invitation is gone, the org is published', async () => {
        const { hash } = await created(classic({ user: 'dave' }));
        await store.createInvitation(invitation({ user: 'dave', role: 'admin' }));
        await store.createInvitation(invitation({ user: 'bob' }));
        const events = recordInvalidations(store);
        expect(await store.acceptInvitation('acme', 'dave', Date.now())).toBe('admin');
        await events.next((e) => e.kind === 'owner' && e.owner === 'acme');
        expect(await store.getMembers('acme')).toEqual(new Map([['dave', 'admin']]));
        // Membership registers the org for good, as setMember does.
        expect(await store.getOrgPolicy('acme')).toEqual(DEFAULT_ORG_POLICY);
        expect((await store.lookup(hash, 'acme'))?.owner).toEqual({
          org: { policy: DEFAULT_ORG_POLICY, role: 'admin' },
        });
        expect((await store.listInvitations({ org: 'acme' })).map((i) => i.user)).toEqual(['bob']);
        expect(await store.listInvitations({ user: 'dave' })).toEqual([]);
        expect(await store.acceptInvitation('acme', 'dave', Date.now())).toBeNull();
      });

      it('keeps an existing policy when an acceptance registers the member', async () => {
        await store.setOrgPolicy('acme', STRICT_POLICY);
        await store.createInvitation(invitation());
        expect(await store.acceptInvitation('acme', 'bob', Date.now())).toBe('member');
        expect(await store.getOrgPolicy('acme')).toEqual(STRICT_POLICY);
      });

      it('answers null to the acceptance of no invitation, and writes nothing', async () => {
        await store.createInvitation(invitation({ org: 'beta' }));
        const events = recordInvalidations(store);
        expect(await store.acceptInvitation('acme', 'bob', Date.now())).toBeNull();
        expect(await store.getMembers('acme')).toEqual(new Map());
        expect(await store.getOrgPolicy('acme')).toBeNull();
        // Invalidations arrive in publish order: once this one is seen, none for acme came before it.
        await store.setOrgPolicy('gamma', STRICT_POLICY);
        await events.next((e) => e.kind === 'owner' && e.owner === 'gamma');
        expect(events.seen.filter((e) => e.kind === 'owner' && e.owner === 'acme')).toEqual([]);
        expect(await store.listInvitations({})).toHaveLength(1);
      });

      it('deletes: true once, then false; the invitation is listed nowhere', async () => {
        await store.createInvitation(invitation());
        await store.createInvitation(invitation({ org: 'beta' }));
        expect(await store.deleteInvitation('ACME', 'Bob')).toBe(true);
        expect(await store.deleteInvitation('acme', 'bob')).toBe(false);
        expect(await store.listInvitations({ org: 'acme' })).toEqual([]);
        expect((await store.listInvitations({ user: 'bob' })).map((i) => i.org)).toEqual(['beta']);
        expect(await store.acceptInvitation('acme', 'bob', Date.now())).toBeNull();
      });

      it('refuses with a TypeError an invitation no read could accept back', async () => {
        const bad = invitation({ role: 'owner' as unknown as Invitation['role'] });
        await expect(store.createInvitation(bad)).rejects.toBeInstanceOf(TypeError);
        expect(await store.listInvitations({})).toEqual([]);
      });
    });

    describe('invalidation', () => {
      it('publishes the token hash when the status changes', async () => {
        const { record, hash } = await created(fineGrained());
        const events = recordInvalidations(store);
        await store.setTokenStatus(record.id, 'revoked');
        await events.next((e) => e.kind === 'token' && e.tokenHash === hash);
      });

      it('publishes the old hash when the secret is replaced', async () => {
        const { record, hash } = await created(fineGrained());
        const events = recordInvalidations(store);
        await store.replaceTokenSecret(record.id, randomHash(), '2031-01-01T00:00:00.000Z');
        await events.next((e) => e.kind === 'token' && e.tokenHash === hash);
      });

      it('publishes the org on membership and policy changes', async () => {
        const events = recordInvalidations(store);
        await store.setMember('acme', 'alice', 'member');
        await events.next((e) => e.kind === 'owner' && e.owner === 'acme');
        await store.removeMember('beta', 'alice');
        await events.next((e) => e.kind === 'owner' && e.owner === 'beta');
        await store.setOrgPolicy('gamma', STRICT_POLICY);
        await events.next((e) => e.kind === 'owner' && e.owner === 'gamma');
      });
    });

    describe('isolation of returned values', () => {
      it('does not alias the record passed to createToken', async () => {
        const record = fineGrained();
        const hash = randomHash();
        await store.createToken(hash, record);
        const original = structuredClone(record);
        (record as { name: string }).name = 'changed';
        (record.permissions as Record<string, string>).admin = 'admin';
        expect(await store.getToken(record.id)).toEqual(original);
      });

      it('does not let callers mutate stored tokens, snapshots, policies or members', async () => {
        const { record, hash } = await created(fineGrained());
        await store.setOrgPolicy('acme', STRICT_POLICY);
        await store.setMember('acme', 'alice', 'member');

        const got = await store.getToken(record.id);
        const snapshot = await store.lookup(hash, 'acme');
        const policy = await store.getOrgPolicy('acme');
        const members = await store.getMembers('acme');
        if (!got || !snapshot || !policy) throw new Error('expected stored values');
        tryMutate(() => {
          (got as { status: string }).status = 'active-forever';
        });
        tryMutate(() => {
          (snapshot.token as { permissions: Record<string, string> }).permissions.administration = 'admin';
        });
        tryMutate(() => {
          (snapshot.owner.org as { role: string }).role = 'admin';
        });
        tryMutate(() => {
          (policy as { classicTokens: string }).classicTokens = 'allowed';
        });
        tryMutate(() => {
          (members as Map<string, string>).set('mallory', 'admin');
        });

        expect(await store.getToken(record.id)).toEqual(record);
        expect(await store.lookup(hash, 'acme')).toEqual({
          token: record,
          owner: { org: { policy: STRICT_POLICY, role: 'member' } },
        });
        expect(await store.getOrgPolicy('acme')).toEqual(STRICT_POLICY);
        expect(await store.getMembers('acme')).toEqual(new Map([['alice', 'member']]));
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('expiry index (the scheduler)', () => {
      const DAY = 86_400_000;
      const noticesOf = async (id: string, now: number) =>
        (await store.dueExpiryNotices(now, 1_000)).filter((n) => n.tokenId === id);

      it('indexes a created token at 7 days, 1 day and 0 before its expiry, soonest first', async () => {
        const expires = Date.parse('2031-06-01T00:00:00.000Z');
        const { record } = await created(fineGrained({ expiresAt: new Date(expires).toISOString() }));
        expect(await noticesOf(record.id, expires - 7 * DAY - 1)).toEqual([]);
        expect(await noticesOf(record.id, expires - 7 * DAY)).toEqual([
          { tokenId: record.id, kind: 'expiring_7d', dueAt: expires - 7 * DAY },
        ]);
        expect(await noticesOf(record.id, expires)).toEqual([
          { tokenId: record.id, kind: 'expiring_7d', dueAt: expires - 7 * DAY },
          { tokenId: record.id, kind: 'expiring_1d', dueAt: expires - DAY },
          { tokenId: record.id, kind: 'expired', dueAt: expires },
        ]);
      });

      it('moves the notices to the new expiry in the same step as regenerate', async () => {
        const expires = Date.parse('2031-06-01T00:00:00.000Z');
        const { record } = await created(fineGrained({ expiresAt: new Date(expires).toISOString() }));
        const [before] = await noticesOf(record.id, expires - 7 * DAY);
        const later = expires + 30 * DAY;
        await store.replaceTokenSecret(record.id, randomHash(), new Date(later).toISOString());
        expect(await noticesOf(record.id, expires)).toEqual([]);
        expect((await noticesOf(record.id, later)).map((n) => n.dueAt)).toEqual([
          later - 7 * DAY,
          later - DAY,
          later,
        ]);
        // A notice listed before the move no longer settles: it would announce the old expiry.
        if (before === undefined) throw new Error('no notice before the move');
        expect(await store.settleExpiryNotice(before, [])).toBe(false);
      });

      it('settles a notice exactly once, however many callers race for it', async () => {
        const expires = Date.parse('2031-06-01T00:00:00.000Z');
        const { record } = await created(fineGrained({ expiresAt: new Date(expires).toISOString() }));
        const [notice] = await noticesOf(record.id, expires - 7 * DAY);
        if (notice === undefined) throw new Error('no notice');
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.settleExpiryNotice(notice, [])),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await noticesOf(record.id, expires - 7 * DAY)).toEqual([]);
        // The other notices are untouched.
        expect((await noticesOf(record.id, expires)).map((n) => n.kind)).toEqual(['expiring_1d', 'expired']);
      });

      it('lists at most `limit` notices', async () => {
        const expires = Date.parse('2031-06-01T00:00:00.000Z');
        await created(fineGrained({ expiresAt: new Date(expires).toISOString() }));
        await created(fineGrained({ expiresAt: new Date(expires).toISOString() }));
        expect(await store.dueExpiryNotices(expires, 4)).toHaveLength(4);
      });
    });
  });
}
