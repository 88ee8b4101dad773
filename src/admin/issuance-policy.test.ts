import { describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { TokenStatus } from '../grants/token-record.js';
import { checkIssuance, InputError } from './issuance-policy.js';

const NOW = Date.parse('2025-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const MEMBERS: ReadonlyMap<string, MemberRole> = new Map([
  ['alice', 'member'],
  ['carol', 'admin'],
]);

interface Case {
  readonly name: string;
  readonly policy: Partial<OrgPolicy> | null;
  readonly user?: string;
  readonly members?: ReadonlyMap<string, MemberRole>;
  readonly from?: number;
  readonly days: number;
  /** A status, or the refusal: field, status and words the message must contain. */
  readonly expected: TokenStatus | { field: string; status: 400 | 422; says: RegExp };
}

const CASES: readonly Case[] = [
  {
    name: 'an owner that is no registered org: active, anything goes',
    policy: null,
    days: 366,
    expected: 'active',
  },
  { name: 'default policy, member: active', policy: {}, days: 30, expected: 'active' },
  { name: 'an admin is a member too', policy: {}, user: 'carol', days: 30, expected: 'active' },
  { name: 'approval required: pending', policy: { requireApproval: true }, days: 30, expected: 'pending' },
  {
    name: 'fine-grained tokens blocked: refused naming the policy',
    policy: { fineGrainedTokens: 'blocked' },
    days: 30,
    expected: { field: 'resource_owner', status: 422, says: /fine_grained_tokens: blocked/ },
  },
  {
    name: 'classic tokens blocked: fine-grained unaffected',
    policy: { classicTokens: 'blocked' },
    days: 30,
    expected: 'active',
  },
  {
    name: 'not a member of a registered org',
    policy: {},
    user: 'mallory',
    days: 30,
    expected: { field: 'user', status: 422, says: /mallory is not a member of organization acme/ },
  },
  {
    name: 'registered org with no members left: nobody is a member',
    policy: {},
    members: new Map(),
    days: 30,
    expected: { field: 'user', status: 422, says: /not a member/ },
  },
  { name: 'lifetime exactly at the maximum', policy: { maxLifetimeDays: 30 }, days: 30, expected: 'active' },
  {
    name: 'lifetime over the maximum: refused naming the policy and the latest expiry',
    policy: { maxLifetimeDays: 30 },
    days: 31,
    expected: {
      field: 'expires_at',
      status: 422,
      says: /at most 30 days \(policy max_lifetime_days\).*2025-07-01T00:00:00.000Z/,
    },
  },
  {
    name: 'lifetime counts from `from` (creation, or the regeneration instant)',
    policy: { maxLifetimeDays: 30 },
    from: NOW - 20 * DAY,
    days: 15,
    expected: { field: 'expires_at', status: 422, says: /2025-06-11T00:00:00.000Z/ },
  },
  {
    name: 'blocked kind is reported before membership and lifetime',
    policy: { fineGrainedTokens: 'blocked', maxLifetimeDays: 1 },
    user: 'mallory',
    days: 30,
    expected: { field: 'resource_owner', status: 422, says: /blocked/ },
  },
  {
    name: 'membership is reported before lifetime',
    policy: { maxLifetimeDays: 1 },
    user: 'mallory',
    days: 30,
    expected: { field: 'user', status: 422, says: /not a member/ },
  },
  {
    name: 'lifetime is checked before approval: a pending token would never work',
    policy: { maxLifetimeDays: 7, requireApproval: true },
    days: 8,
    expected: { field: 'expires_at', status: 422, says: /max_lifetime_days/ },
  },
];

describe('checkIssuance: table', () => {
  it.each(CASES)('$name', (c) => {
    const run = (): TokenStatus =>
      checkIssuance({
        org: 'acme',
        user: c.user ?? 'alice',
        policy: c.policy === null ? null : { ...DEFAULT_ORG_POLICY, ...c.policy },
        members: c.members ?? MEMBERS,
        from: c.from ?? NOW,
        expiresAt: NOW + c.days * DAY,
      });
    if (typeof c.expected === 'string') {
      expect(run()).toBe(c.expected);
      return;
    }
    let thrown: unknown;
    try {
      run();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    const error = thrown as InputError;
    expect(error.field).toBe(c.expected.field);
    expect(error.status).toBe(c.expected.status);
    expect(error.message).toMatch(c.expected.says);
  });
});
