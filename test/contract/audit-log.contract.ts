import { describe, expect, it } from 'vitest';
import type { AuditLog, NewAuditEvent } from '../../src/store/audit-log.js';

/** A fresh, empty log keeping the newest `maxEvents`. The suite closes nothing: the caller's file does. */
export type MakeAuditLog = (maxEvents: number) => Promise<AuditLog>;

const CAROL = { kind: 'org_admin', user: 'carol', tokenId: 'tok_carolcarolcarolcaro' } as const;

function event(over: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    actor: { kind: 'site_admin' },
    action: 'token.create',
    org: 'acme',
    tokenId: 'tok_aaaaaaaaaaaaaaaaaaaa',
    user: 'alice',
    reason: null,
    details: { kind: 'fine_grained', nested: { list: [1, 'two'] } },
    ...over,
  };
}

/** The behaviour every AuditLog shares: bounded, newest first, filtered, values not aliased. */
export function auditLogContract(name: string, makeLog: MakeAuditLog): void {
  describe(`AuditLog contract: ${name}`, () => {
    it('stores an event with an id and an RFC 3339 time, and returns it as stored', async () => {
      const log = await makeLog(100);
      const before = Date.now();
      const stored = await log.append(event({ reason: 'rotating CI', action: 'token.deny' }));
      expect(stored).toMatchObject({ ...event({ reason: 'rotating CI', action: 'token.deny' }) });
      expect(typeof stored.id).toBe('string');
      expect(stored.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(Date.parse(stored.at)).toBeGreaterThanOrEqual(before - 1000);
      expect(await log.list({ limit: 10 })).toEqual([stored]);
    });

    it('lists newest first, with distinct ids', async () => {
      const log = await makeLog(100);
      const actions = ['org.member.set', 'token.create', 'token.approve', 'token.revoke'] as const;
      for (const action of actions) await log.append(event({ action }));
      const listed = await log.list({ limit: 10 });
      expect(listed.map((e) => e.action)).toEqual([...actions].reverse());
      expect(new Set(listed.map((e) => e.id)).size).toBe(actions.length);
      const times = listed.map((e) => Date.parse(e.at));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('filters by org, token and user, alone or together, and honours the limit', async () => {
      const log = await makeLog(100);
      await log.append(event({ org: 'acme', tokenId: 'tok_1', user: 'alice' }));
      await log.append(event({ org: 'globex', tokenId: 'tok_2', user: 'alice' }));
      await log.append(event({ org: 'acme', tokenId: 'tok_3', user: 'bob' }));
      await log.append(event({ org: null, tokenId: 'tok_4', user: 'alice', details: { kind: 'classic' } }));
      await log.append(
        event({ org: 'acme', tokenId: null, user: null, action: 'org.policy.update', actor: CAROL }),
      );
      const ids = async (filter: Parameters<AuditLog['list']>[0]): Promise<(string | null)[]> =>
        (await log.list(filter)).map((e) => e.tokenId);

      expect(await ids({ org: 'acme', limit: 10 })).toEqual([null, 'tok_3', 'tok_1']);
      expect(await ids({ tokenId: 'tok_2', limit: 10 })).toEqual(['tok_2']);
      expect(await ids({ user: 'alice', limit: 10 })).toEqual(['tok_4', 'tok_2', 'tok_1']);
      expect(await ids({ org: 'acme', user: 'bob', limit: 10 })).toEqual(['tok_3']);
      expect(await ids({ org: 'acme', limit: 2 })).toEqual([null, 'tok_3']);
      expect(await ids({ org: 'initech', limit: 10 })).toEqual([]);
    });

    it('selects what an org admin did with the user filter, as well as what happened to them', async () => {
      const log = await makeLog(100);
      await log.append(event({ user: 'carol', action: 'org.member.set', tokenId: null }));
      await log.append(event({ user: 'alice', action: 'token.approve', actor: CAROL }));
      await log.append(event({ user: 'alice', action: 'token.revoke' }));
      const actions = (await log.list({ user: 'carol', limit: 10 })).map((e) => e.action);
      expect(actions).toEqual(['token.approve', 'org.member.set']);
    });

    it('keeps only the newest maxEvents', async () => {
      const log = await makeLog(5);
      for (let i = 0; i < 12; i++) await log.append(event({ reason: `#${i}` }));
      const listed = await log.list({ limit: 100 });
      expect(listed.map((e) => e.reason)).toEqual(['#11', '#10', '#9', '#8', '#7']);
    });

    it('hands out copies: changing a returned event changes nothing stored', async () => {
      const log = await makeLog(100);
      const stored = await log.append(event());
      try {
        (stored.details as Record<string, unknown>).kind = 'changed';
      } catch {
        // Frozen is as good as a copy.
      }
      const [listed] = await log.list({ limit: 1 });
      try {
        (listed?.details as Record<string, unknown>).kind = 'changed again';
      } catch {
        // Frozen.
      }
      expect((await log.list({ limit: 1 }))[0]?.details).toEqual(event().details);
    });
  });
}
