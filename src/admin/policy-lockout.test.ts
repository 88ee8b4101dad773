import { describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { FineGrainedTokenRecord, TokenRecord } from '../grants/token-record.js';
import { policyLockout } from './policy-lockout.js';

const NOW = Date.parse('2025-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

function token(id: string, user: string, over: Partial<FineGrainedTokenRecord> = {}): FineGrainedTokenRecord {
  return {
    kind: 'fine_grained',
    id,
    user,
    name: 'admin',
    status: 'active',
    createdAt: iso(NOW - DAY),
    expiresAt: iso(NOW + 29 * DAY),
    resourceOwner: 'acme',
    repositories: 'all',
    permissions: { organization_tokens: 'write' },
    ...over,
  };
}

const MEMBERS = new Map<string, MemberRole>([
  ['carol', 'admin'],
  ['erin', 'admin'],
  ['alice', 'member'],
]);

function check(tokens: TokenRecord[], next: Partial<OrgPolicy>, current: Partial<OrgPolicy> = {}) {
  return policyLockout({
    org: 'acme',
    tokens,
    members: MEMBERS,
    current: { ...DEFAULT_ORG_POLICY, ...current },
    next: { ...DEFAULT_ORG_POLICY, ...current, ...next },
    now: NOW,
  });
}

describe('policyLockout', () => {
  it('refuses blocking fine-grained tokens when admins act with them', () => {
    expect(check([token('tok_c', 'carol')], { fineGrainedTokens: 'blocked' })).toMatch(
      /no admin of organization acme able to use the admin API \(organization acme blocks fine-grained tokens\).*"force": true/,
    );
  });

  it('refuses a max lifetime below every admin token, naming the lifetime', () => {
    const line = check([token('tok_c', 'carol'), token('tok_e', 'erin')], { maxLifetimeDays: 7 });
    expect(line).toMatch(/token tok_c lives 30 days; organization acme allows at most 7 days/);
    expect(line).toMatch(/token tok_e lives 30 days/);
  });

  it('allows it when one admin keeps a token that still works', () => {
    const short = token('tok_e', 'erin', { expiresAt: iso(NOW + 4 * DAY) });
    expect(check([token('tok_c', 'carol'), short], { maxLifetimeDays: 7 })).toBeNull();
  });

  it('ignores tokens that do not make their holder an acting admin today', () => {
    const tokens = [
      token('tok_m', 'alice'),
      token('tok_r', 'carol', { permissions: { organization_tokens: 'read' } }),
      token('tok_x', 'carol', { status: 'revoked' }),
      token('tok_p', 'carol', { status: 'pending' }),
      token('tok_o', 'carol', { resourceOwner: 'globex' }),
      token('tok_d', 'carol', { expiresAt: iso(NOW - 1) }),
    ];
    // Nobody can act today, so nobody is locked out by the change.
    expect(check(tokens, { fineGrainedTokens: 'blocked' })).toBeNull();
    // The same tokens beside one that works: that one decides.
    expect(check([...tokens, token('tok_c', 'carol')], { fineGrainedTokens: 'blocked' })).toMatch(/blocks/);
  });

  it('does not count require_approval or classic blocking: tokens in use keep working', () => {
    const tokens = [token('tok_c', 'carol')];
    expect(check(tokens, { requireApproval: true })).toBeNull();
    expect(check(tokens, { classicTokens: 'blocked' })).toBeNull();
  });

  it('lets a change through that lifts a lock-out', () => {
    expect(
      check([token('tok_c', 'carol')], { fineGrainedTokens: 'allowed' }, { fineGrainedTokens: 'blocked' }),
    ).toBeNull();
  });
});
