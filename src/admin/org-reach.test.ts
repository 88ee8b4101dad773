import { describe, expect, it } from 'vitest';
import type { DenyReason } from '../grants/decision.js';
import { DEFAULT_ORG_POLICY, type MemberRole, type OrgPolicy } from '../grants/owner.js';
import type { ClassicTokenRecord, FineGrainedTokenRecord, TokenRecord } from '../grants/token-record.js';
import { type OrgState, orgMaySee, reachOf, tokensReachingOrg } from './org-reach.js';

const NOW = Date.parse('2025-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

function fine(over: Partial<FineGrainedTokenRecord> = {}): FineGrainedTokenRecord {
  return {
    kind: 'fine_grained',
    id: 'tok_fg',
    user: 'alice',
    name: 'ci',
    status: 'active',
    createdAt: iso(NOW - 10 * DAY),
    expiresAt: iso(NOW + 20 * DAY),
    resourceOwner: 'acme',
    repositories: ['api'],
    permissions: {},
    ...over,
  };
}

function classic(over: Partial<ClassicTokenRecord> = {}): ClassicTokenRecord {
  return {
    kind: 'classic',
    id: 'tok_cl',
    user: 'alice',
    name: 'laptop',
    status: 'active',
    createdAt: iso(NOW - 10 * DAY),
    expiresAt: iso(NOW + 20 * DAY),
    scopes: [],
    ...over,
  };
}

function state(
  policy: Partial<OrgPolicy> | null = {},
  members: [string, MemberRole][] = [['alice', 'member']],
): OrgState {
  return { policy: policy === null ? null : { ...DEFAULT_ORG_POLICY, ...policy }, members: new Map(members) };
}

interface Case {
  readonly name: string;
  readonly token: TokenRecord;
  readonly org?: OrgState;
  readonly expected: 'allow' | DenyReason;
}

const CASES: readonly Case[] = [
  { name: 'fine-grained token for the org, member', token: fine(), expected: 'allow' },
  {
    name: 'repository list and permissions do not matter for reach',
    token: fine({ repositories: [] }),
    expected: 'allow',
  },
  { name: 'classic token of a member', token: classic(), expected: 'allow' },
  {
    name: 'pending: listed, and refused as pending',
    token: fine({ status: 'pending' }),
    expected: 'token_pending',
  },
  { name: 'denied', token: fine({ status: 'denied' }), expected: 'token_denied' },
  { name: 'revoked', token: fine({ status: 'revoked' }), expected: 'token_revoked' },
  { name: 'expired', token: fine({ expiresAt: iso(NOW - 1) }), expected: 'token_expired' },
  { name: 'for another owner', token: fine({ resourceOwner: 'globex' }), expected: 'resource_forbidden' },
  { name: 'classic token of a non-member', token: classic({ user: 'bob' }), expected: 'resource_forbidden' },
  { name: 'fine-grained token of a removed member', token: fine({ user: 'bob' }), expected: 'not_member' },
  {
    name: 'classic tokens blocked',
    token: classic(),
    org: state({ classicTokens: 'blocked' }),
    expected: 'classic_blocked',
  },
  {
    name: 'fine-grained tokens blocked',
    token: fine(),
    org: state({ fineGrainedTokens: 'blocked' }),
    expected: 'fine_grained_blocked',
  },
  {
    name: 'lifetime over a tightened policy',
    token: fine(),
    org: state({ maxLifetimeDays: 7 }),
    expected: 'lifetime_exceeds_policy',
  },
  {
    name: 'an unregistered owner: its own fine-grained tokens reach it',
    token: fine(),
    org: state(null, []),
    expected: 'allow',
  },
];

describe('reachOf: table', () => {
  it.each(CASES)('$name', (c) => {
    const decision = reachOf(c.token, 'acme', c.org ?? state(), NOW);
    if (c.expected === 'allow') expect(decision.kind).toBe('allow');
    else expect(decision).toMatchObject({ kind: 'deny', reason: c.expected });
  });
});

describe('tokensReachingOrg', () => {
  it('keeps the tokens that reach the org and those awaiting its approval, in order', () => {
    const tokens = [
      fine({ id: 'tok_a' }),
      fine({ id: 'tok_b', status: 'pending' }),
      fine({ id: 'tok_c', status: 'revoked' }),
      classic({ id: 'tok_d' }),
      classic({ id: 'tok_e', user: 'bob' }),
      fine({ id: 'tok_f', resourceOwner: 'globex' }),
    ];
    expect(tokensReachingOrg(tokens, 'acme', state(), NOW).map((t) => t.id)).toEqual([
      'tok_a',
      'tok_b',
      'tok_d',
    ]);
  });
});

describe('orgMaySee', () => {
  it.each([
    ["a member's token for the org, whatever its status", fine({ status: 'pending' }), state(), true],
    ["a member's revoked token", fine({ status: 'revoked' }), state(), true],
    ["a member's classic token", classic(), state(), true],
    ['a token for another owner', fine({ resourceOwner: 'globex' }), state(), false],
    ['a token of an invited or removed user', fine({ user: 'bob' }), state(), false],
    ['a classic token of a non-member', classic({ user: 'bob' }), state(), false],
    ['any token for an unregistered owner', fine({ user: 'bob' }), state(null, []), true],
  ] as const)('%s: %s', (_name, token, org, expected) => {
    expect(orgMaySee(token, 'acme', org)).toBe(expected);
  });
});
