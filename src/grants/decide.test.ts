import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecideInput, decide } from './decide.js';
import type { DenyReason } from './decision.js';
import { InstantMemo } from './instant.js';
import {
  DEFAULT_ORG_POLICY,
  type MemberRole,
  type OrgPolicy,
  type OwnerState,
  UNREGISTERED_OWNER,
} from './owner.js';
import {
  type GrantMap,
  LEVELS,
  type Level,
  type Permission,
  type PermissionAlternatives,
  parsePermission,
} from './permission.js';
import { type RequestResource, resolveResource } from './resource.js';
import type {
  ClassicScope,
  ClassicTokenRecord,
  FineGrainedTokenRecord,
  TokenRecord,
  TokenStatus,
} from './token-record.js';

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
    permissions: { issues: 'write' },
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
    scopes: ['read'],
    ...over,
  };
}

function org(policy: Partial<OrgPolicy> = {}, role: MemberRole | null = 'member'): OwnerState {
  return { org: { policy: { ...DEFAULT_ORG_POLICY, ...policy }, role } };
}

function perm(text: string): Permission {
  const parsed = parsePermission(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.permission;
}

function needs(...alternatives: string[][]): DecideInput['requirement'] {
  return {
    kind: 'permissions',
    alternatives: alternatives.map((set) => set.map(perm)),
    resource: { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
  };
}

const ACME_API: RequestResource = { owner: 'acme', repo: 'api' };
const IMPLICIT = [perm('metadata:read')];

interface Case {
  readonly name: string;
  readonly token: TokenRecord;
  readonly owner?: OwnerState;
  readonly resource?: RequestResource;
  readonly requirement?: DecideInput['requirement'];
  readonly hide?: boolean;
  readonly expected: 'allow' | DenyReason;
  readonly detail?: string;
}

function run(c: Case) {
  return decide({
    snapshot: { token: c.token, owner: c.owner ?? UNREGISTERED_OWNER },
    requirement: c.requirement ?? needs(['issues:write']),
    resource: c.resource ?? ACME_API,
    implicit: IMPLICIT,
    hideForbidden: c.hide ?? false,
    now: NOW,
  });
}

const CASES: readonly Case[] = [
  // Allow paths.
  { name: 'fine-grained: exact permission', token: fine(), expected: 'allow' },
  { name: 'write implies read', token: fine(), requirement: needs(['issues:read']), expected: 'allow' },
  {
    name: 'admin implies write',
    token: fine({ permissions: { administration: 'admin' } }),
    requirement: needs(['administration:write']),
    expected: 'allow',
  },
  {
    name: 'any_of: the second alternative holds',
    token: fine({ permissions: { issues: 'read', contents: 'read' } }),
    requirement: needs(['pull_requests:read', 'contents:read'], ['issues:read', 'contents:read']),
    expected: 'allow',
  },
  {
    name: 'AND set: all held',
    token: fine({ permissions: { pull_requests: 'write', contents: 'admin' } }),
    requirement: needs(['pull_requests:write', 'contents:write']),
    expected: 'allow',
  },
  {
    name: 'implicit metadata:read without a grant',
    token: fine({ permissions: {} }),
    requirement: needs(['metadata:read']),
    expected: 'allow',
  },
  {
    name: 'implicit joins explicit grants in one AND set',
    token: fine({ permissions: { contents: 'read' } }),
    requirement: needs(['metadata:read', 'contents:read']),
    expected: 'allow',
  },
  {
    name: 'repositories all reaches any repository of the owner',
    token: fine({ repositories: 'all' }),
    resource: { owner: 'acme', repo: 'anything' },
    expected: 'allow',
  },
  {
    name: 'a repository list does not restrict owner-level routes',
    token: fine({ permissions: { members: 'read' } }),
    resource: { owner: 'acme', repo: null },
    requirement: needs(['members:read']),
    expected: 'allow',
  },
  {
    name: 'token_owner routes use the token owner',
    token: fine(),
    resource: { owner: null, repo: null },
    expected: 'allow',
  },
  {
    name: 'owner and repository compare case-insensitively (via resolveResource)',
    token: fine({ repositories: ['api', 'web'] }),
    resource: resolveResource(
      { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
      { owner: 'ACME', repo: 'Web' },
    ),
    expected: 'allow',
  },
  {
    name: 'a record with mixed-case names still matches',
    token: fine({ resourceOwner: 'Acme', repositories: ['API'] }),
    expected: 'allow',
  },
  {
    name: 'registered org: member, allowed kind, lifetime within policy',
    token: fine(),
    owner: org({ requireApproval: true, maxLifetimeDays: 30 }, 'member'),
    expected: 'allow',
  },
  {
    name: 'lifetime exactly at the policy maximum',
    token: fine({ createdAt: iso(NOW - 10 * DAY), expiresAt: iso(NOW + 20 * DAY) }),
    owner: org({ maxLifetimeDays: 30 }),
    expected: 'allow',
  },
  {
    name: "a regenerated token's lifetime counts from regeneration, not creation",
    token: fine({
      createdAt: iso(NOW - 300 * DAY),
      regeneratedAt: iso(NOW - 5 * DAY),
      expiresAt: iso(NOW + 25 * DAY),
    }),
    owner: org({ maxLifetimeDays: 30 }),
    expected: 'allow',
  },
  {
    name: 'classic read scope on the user account',
    token: classic(),
    resource: { owner: 'alice', repo: 'dotfiles' },
    requirement: needs(['contents:read']),
    expected: 'allow',
  },
  {
    name: 'classic token_owner route reaches the user account',
    token: classic(),
    resource: { owner: null, repo: null },
    requirement: needs(['contents:read']),
    expected: 'allow',
  },
  {
    name: 'classic write scope in an org the user belongs to',
    token: classic({ scopes: ['write'] }),
    owner: org({}, 'member'),
    expected: 'allow',
  },
  {
    name: 'classic admin scope holds any level of any feature',
    token: classic({ scopes: ['read', 'admin'] }),
    owner: org({}, 'admin'),
    requirement: needs(['administration:admin', 'members:write']),
    expected: 'allow',
  },
  {
    name: 'classic token with no scopes still holds implicit permissions',
    token: classic({ scopes: [] }),
    resource: { owner: 'alice', repo: 'x' },
    requirement: needs(['metadata:read']),
    expected: 'allow',
  },

  // Lifecycle.
  {
    name: 'revoked',
    token: fine({ status: 'revoked', revokedAt: '2025-05-30T00:00:00.000Z' }),
    expected: 'token_revoked',
    detail: 'token tok_fg was revoked at 2025-05-30T00:00:00.000Z',
  },
  {
    name: 'revoked with a reason',
    token: classic({ status: 'revoked', revokedAt: 'T', statusReason: 'leaked' }),
    expected: 'token_revoked',
    detail: 'token tok_cl was revoked at T: leaked',
  },
  {
    name: 'revoked is reported before expired',
    token: fine({ status: 'revoked', revokedAt: 'T', expiresAt: iso(NOW - DAY) }),
    expected: 'token_revoked',
  },
  {
    name: 'expired',
    token: fine({ expiresAt: iso(NOW - 1) }),
    expected: 'token_expired',
    detail: `token expired at ${iso(NOW - 1)}`,
  },
  { name: 'expires exactly now', token: fine({ expiresAt: iso(NOW) }), expected: 'token_expired' },
  { name: 'unparseable expiry fails closed', token: fine({ expiresAt: 'soon' }), expected: 'token_expired' },
  {
    name: 'expired is reported before an out-of-set owner',
    token: fine({ expiresAt: iso(NOW - 1) }),
    resource: { owner: 'other', repo: 'x' },
    expected: 'token_expired',
  },

  // Owner reach.
  {
    name: 'fine-grained: another owner, not hidden',
    token: fine(),
    resource: { owner: 'other', repo: 'api' },
    expected: 'resource_forbidden',
    detail: 'other is not the resource owner of token tok_fg (acme)',
  },
  {
    name: 'fine-grained: another owner, hidden',
    token: fine(),
    resource: { owner: 'other', repo: 'api' },
    hide: true,
    expected: 'resource_hidden',
  },
  {
    name: 'classic: another user account',
    token: classic(),
    resource: { owner: 'bob', repo: 'x' },
    hide: true,
    expected: 'resource_hidden',
  },
  {
    name: 'classic: an org the user is not in',
    token: classic({ scopes: ['admin'] }),
    owner: org({}, null),
    expected: 'resource_forbidden',
  },
  {
    name: 'owner reach is checked before the org policy',
    token: fine(),
    owner: org({ fineGrainedTokens: 'blocked' }, null),
    resource: { owner: 'other', repo: 'x' },
    hide: true,
    expected: 'resource_hidden',
  },

  // Org rules.
  {
    name: 'fine-grained: user no longer a member',
    token: fine(),
    owner: org({}, null),
    expected: 'not_member',
    detail: 'user alice is not a member of organization acme',
  },
  {
    name: 'not_member is reported before a blocked kind',
    token: fine(),
    owner: org({ fineGrainedTokens: 'blocked' }, null),
    expected: 'not_member',
  },
  {
    name: 'classic blocked',
    token: classic({ scopes: ['admin'] }),
    owner: org({ classicTokens: 'blocked' }),
    expected: 'classic_blocked',
    detail: 'organization acme blocks classic tokens',
  },
  {
    name: 'fine-grained blocked',
    token: fine(),
    owner: org({ fineGrainedTokens: 'blocked' }),
    expected: 'fine_grained_blocked',
    detail: 'organization acme blocks fine-grained tokens',
  },
  {
    name: 'blocking the other kind changes nothing',
    token: fine(),
    owner: org({ classicTokens: 'blocked' }),
    expected: 'allow',
  },
  {
    name: 'a blocked kind is reported before pending',
    token: fine({ status: 'pending' }),
    owner: org({ fineGrainedTokens: 'blocked' }),
    expected: 'fine_grained_blocked',
  },
  {
    name: 'pending approval by the org',
    token: fine({ status: 'pending' }),
    owner: org({ requireApproval: true }),
    expected: 'token_pending',
    detail: 'token tok_fg is waiting for approval by organization acme',
  },
  {
    name: 'denied by the org, with its reason',
    token: fine({ status: 'denied', statusReason: 'too broad' }),
    owner: org({ requireApproval: true }),
    expected: 'token_denied',
    detail: 'token tok_fg was denied by organization acme: too broad',
  },
  {
    name: 'pending on an unregistered owner still denies',
    token: fine({ status: 'pending', resourceOwner: 'alice' }),
    resource: { owner: 'alice', repo: 'api' },
    expected: 'token_pending',
  },
  {
    name: 'denied on an unregistered owner still denies',
    token: fine({ status: 'denied' }),
    expected: 'token_denied',
    detail: 'token tok_fg was denied',
  },
  {
    name: 'a non-active classic token never passes',
    token: classic({ status: 'pending' }),
    resource: { owner: 'alice', repo: 'x' },
    expected: 'token_pending',
  },
  {
    name: 'pending is reported before the lifetime policy',
    token: fine({ status: 'pending', expiresAt: iso(NOW + 365 * DAY) }),
    owner: org({ maxLifetimeDays: 30 }),
    expected: 'token_pending',
  },
  {
    name: 'lifetime over the org maximum',
    token: fine({ createdAt: iso(NOW - 10 * DAY), expiresAt: iso(NOW + 80 * DAY) }),
    owner: org({ maxLifetimeDays: 30 }),
    expected: 'lifetime_exceeds_policy',
    detail: 'token tok_fg lives 90 days; organization acme allows at most 30 days',
  },
  {
    name: 'a regenerated token still over the maximum from its regeneration',
    token: fine({
      createdAt: iso(NOW - 300 * DAY),
      regeneratedAt: iso(NOW - 5 * DAY),
      expiresAt: iso(NOW + 26 * DAY),
    }),
    owner: org({ maxLifetimeDays: 30 }),
    expected: 'lifetime_exceeds_policy',
  },
  {
    name: 'lifetime one millisecond over the maximum',
    token: fine({ createdAt: iso(NOW - 10 * DAY), expiresAt: iso(NOW + 20 * DAY + 1) }),
    owner: org({ maxLifetimeDays: 30 }),
    expected: 'lifetime_exceeds_policy',
  },
  {
    name: 'unparseable creation instant fails the lifetime policy closed',
    token: fine({ createdAt: 'yesterday' }),
    owner: org({ maxLifetimeDays: 30 }),
    expected: 'lifetime_exceeds_policy',
  },
  {
    name: 'classic tokens are held to the lifetime policy too',
    token: classic({ scopes: ['write'], expiresAt: iso(NOW + 400 * DAY) }),
    owner: org({ maxLifetimeDays: 90 }),
    expected: 'lifetime_exceeds_policy',
  },
  {
    name: 'the lifetime policy is checked before the repository',
    token: fine({ expiresAt: iso(NOW + 80 * DAY) }),
    owner: org({ maxLifetimeDays: 30 }),
    resource: { owner: 'acme', repo: 'web' },
    hide: true,
    expected: 'lifetime_exceeds_policy',
  },

  // Repository.
  {
    name: 'repository outside the list, not hidden',
    token: fine(),
    resource: { owner: 'acme', repo: 'web' },
    expected: 'resource_forbidden',
    detail: "repository acme/web is not among token tok_fg's repositories",
  },
  {
    name: 'repository outside the list, hidden',
    token: fine(),
    resource: { owner: 'acme', repo: 'web' },
    hide: true,
    expected: 'resource_hidden',
  },
  {
    name: 'an empty repository list reaches no repository',
    token: fine({ repositories: [] }),
    hide: true,
    expected: 'resource_hidden',
  },
  {
    name: 'the repository is checked before permissions',
    token: fine({ permissions: {} }),
    resource: { owner: 'acme', repo: 'web' },
    hide: true,
    expected: 'resource_hidden',
  },

  // Permissions.
  {
    name: 'read does not imply write',
    token: fine({ permissions: { issues: 'read' } }),
    expected: 'permission_missing',
    detail: 'token tok_fg lacks issues:write',
  },
  {
    name: 'AND set: one missing',
    token: fine({ permissions: { pull_requests: 'write' } }),
    requirement: needs(['pull_requests:write', 'contents:write']),
    expected: 'permission_missing',
    detail: 'token tok_fg lacks contents:write',
  },
  {
    name: 'any_of: no alternative complete',
    token: fine({ permissions: { contents: 'read' } }),
    requirement: needs(['pull_requests:read', 'contents:read'], ['issues:read', 'members:read']),
    expected: 'permission_missing',
    detail: 'token tok_fg lacks pull_requests:read, or issues:read and members:read',
  },
  {
    name: 'implicit grants only their own level',
    token: fine({ permissions: {} }),
    requirement: needs(['metadata:write']),
    expected: 'permission_missing',
  },
  {
    name: 'classic read scope does not write',
    token: classic({ scopes: ['read'] }),
    resource: { owner: 'alice', repo: 'x' },
    expected: 'permission_missing',
    detail: 'token tok_cl lacks issues:write',
  },
  {
    name: 'classic write scope does not administer',
    token: classic({ scopes: ['write'] }),
    owner: org({}, 'admin'),
    requirement: needs(['administration:admin']),
    expected: 'permission_missing',
  },
  {
    name: 'an empty permission set grants nothing',
    token: fine({ permissions: { issues: 'admin' } }),
    requirement: { ...needs(['issues:read']), alternatives: [[]] },
    expected: 'permission_missing',
  },
];

describe('decide: table', () => {
  it.each(CASES)('$name', (c) => {
    const decision = run(c);
    if (c.expected === 'allow') {
      expect(decision).toEqual({ kind: 'allow', token: c.token });
      return;
    }
    expect(decision).toMatchObject({ kind: 'deny', reason: c.expected, tokenId: c.token.id });
    if (decision.kind !== 'deny') return;
    if (c.detail !== undefined) expect(decision.detail).toBe(c.detail);
    if (c.expected === 'permission_missing') {
      expect(decision.requiredPermissions).toEqual((c.requirement ?? needs(['issues:write'])).alternatives);
    } else {
      expect(decision.requiredPermissions).toBeUndefined();
    }
  });

  it('covers every deny reason decide can produce', () => {
    const reachable: DenyReason[] = [
      'token_expired',
      'token_revoked',
      'token_pending',
      'token_denied',
      'classic_blocked',
      'fine_grained_blocked',
      'lifetime_exceeds_policy',
      'not_member',
      'resource_forbidden',
      'resource_hidden',
      'permission_missing',
    ];
    const covered = new Set(CASES.map((c) => c.expected));
    for (const reason of reachable) expect(covered, reason).toContain(reason);
  });

  it('never puts a secret-looking value in a detail', () => {
    const secret = 'pgt_0123456789abcdefghijklmnopqrstuvwxyz';
    for (const c of CASES) {
      const decision = run({ ...c, token: { ...c.token, name: secret } });
      if (decision.kind === 'deny') expect(decision.detail).not.toContain(secret);
    }
  });
});

// --- Properties -------------------------------------------------------------

const FEATURES = ['metadata', 'contents', 'issues', 'members', 'pull_requests'] as const;
const OWNERS = ['acme', 'alice', 'bob', 'other'] as const;
const REPOS = ['api', 'web', 'docs', 'zzz'] as const;

const levelArb = fc.constantFrom<Level>(...LEVELS);
const permissionArb: fc.Arbitrary<Permission> = fc.record({
  feature: fc.constantFrom(...FEATURES),
  level: levelArb,
});
const grantMapArb: fc.Arbitrary<GrantMap> = fc.dictionary(fc.constantFrom(...FEATURES), levelArb, {
  maxKeys: 5,
});
const statusArb = fc.constantFrom<TokenStatus>('active', 'pending', 'denied', 'revoked');
const instantArb = fc.integer({ min: NOW - 400 * DAY, max: NOW + 400 * DAY }).map(iso);

const fineArb: fc.Arbitrary<FineGrainedTokenRecord> = fc
  .record({
    status: statusArb,
    createdAt: fc.integer({ min: NOW - 400 * DAY, max: NOW }).map(iso),
    expiresAt: instantArb,
    user: fc.constantFrom('alice', 'bob'),
    resourceOwner: fc.constantFrom(...OWNERS),
    repositories: fc.oneof(fc.constant('all' as const), fc.subarray([...REPOS])),
    permissions: grantMapArb,
  })
  .map((r) => fine(r));

const classicArb: fc.Arbitrary<ClassicTokenRecord> = fc
  .record({
    status: statusArb,
    createdAt: fc.integer({ min: NOW - 400 * DAY, max: NOW }).map(iso),
    expiresAt: instantArb,
    user: fc.constantFrom('alice', 'bob'),
    scopes: fc.subarray<ClassicScope>(['read', 'write', 'admin']),
  })
  .map((r) => classic(r));

const tokenArb: fc.Arbitrary<TokenRecord> = fc.oneof(fineArb, classicArb);

const policyArb: fc.Arbitrary<OrgPolicy> = fc.record({
  requireApproval: fc.boolean(),
  maxLifetimeDays: fc.option(fc.integer({ min: 1, max: 400 })),
  classicTokens: fc.constantFrom('allowed' as const, 'blocked' as const),
  fineGrainedTokens: fc.constantFrom('allowed' as const, 'blocked' as const),
});

const ownerStateArb: fc.Arbitrary<OwnerState> = fc.oneof(
  fc.constant(UNREGISTERED_OWNER),
  fc.record({
    org: fc.record({ policy: policyArb, role: fc.constantFrom<MemberRole | null>('member', 'admin', null) }),
  }),
);

const resourceArb: fc.Arbitrary<RequestResource> = fc.oneof(
  fc.constant({ owner: null, repo: null }),
  fc.record({
    owner: fc.constantFrom<string | null>(...OWNERS),
    repo: fc.constantFrom<string | null>(null, ...REPOS),
  }),
);

const alternativesArb: fc.Arbitrary<PermissionAlternatives> = fc.array(
  fc.array(permissionArb, { minLength: 1, maxLength: 3 }),
  { minLength: 1, maxLength: 3 },
);

const inputArb: fc.Arbitrary<DecideInput> = fc
  .record({
    token: tokenArb,
    owner: ownerStateArb,
    resource: resourceArb,
    alternatives: alternativesArb,
    implicit: fc.oneof(fc.constant(IMPLICIT), fc.array(permissionArb, { maxLength: 2 })),
    hideForbidden: fc.boolean(),
  })
  .map((r) => ({
    snapshot: { token: r.token, owner: r.owner },
    requirement: { ...needs(), alternatives: r.alternatives },
    resource: r.resource,
    implicit: r.implicit,
    hideForbidden: r.hideForbidden,
    now: NOW,
  }));

/** Inputs skewed towards allow (live token, its own owner) so that monotonicity is tested on allows. */
const liveInputArb: fc.Arbitrary<DecideInput> = fc.tuple(inputArb, fc.boolean()).map(([input, ownOwner]) => {
  const token = { ...input.snapshot.token, status: 'active' as const, expiresAt: iso(NOW + DAY) };
  const reached = token.kind === 'fine_grained' ? token.resourceOwner : token.user;
  const resource = ownOwner ? { ...input.resource, owner: reached } : input.resource;
  return { ...input, snapshot: { ...input.snapshot, token }, resource };
});

function withToken(input: DecideInput, token: TokenRecord): DecideInput {
  return { ...input, snapshot: { ...input.snapshot, token } };
}

describe('decide: properties', () => {
  it('a token whose status is not active is never allowed', () => {
    fc.assert(
      fc.property(inputArb, fc.constantFrom<TokenStatus>('pending', 'denied', 'revoked'), (input, status) => {
        const token = { ...input.snapshot.token, status };
        expect(decide(withToken(input, token)).kind).toBe('deny');
      }),
      { numRuns: 1000 },
    );
  });

  it('an expired token is never allowed', () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 0, max: 400 * DAY }), (input, ago) => {
        const token = { ...input.snapshot.token, expiresAt: iso(NOW - ago) };
        const decision = decide(withToken(input, token));
        expect(decision.kind).toBe('deny');
      }),
      { numRuns: 1000 },
    );
  });

  it('answers the same with an instants memo as without, whatever the memo already holds', () => {
    // Two slots: the memo is mostly full of other tokens' instants, so hits, misses and
    // evictions all happen across runs.
    const memo = new InstantMemo(2);
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(decide({ ...input, instants: memo })).toEqual(decide(input));
      }),
      { numRuns: 1000 },
    );
  });

  it('every deny names the token', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decide(input);
        if (decision.kind === 'deny') expect(decision.tokenId).toBe(input.snapshot.token.id);
      }),
      { numRuns: 1000 },
    );
  });

  it('adding a permission or scope never turns allow into deny', () => {
    fc.assert(
      fc.property(
        liveInputArb,
        permissionArb,
        fc.constantFrom<ClassicScope>('read', 'write', 'admin'),
        (input, added, scope) => {
          fc.pre(decide(input).kind === 'allow');
          const token = input.snapshot.token;
          let more: TokenRecord;
          if (token.kind === 'fine_grained') {
            const current = token.permissions[added.feature];
            const level =
              current !== undefined && LEVELS.indexOf(current) > LEVELS.indexOf(added.level)
                ? current
                : added.level;
            more = { ...token, permissions: { ...token.permissions, [added.feature]: level } };
          } else {
            more = { ...token, scopes: [...token.scopes, scope] };
          }
          expect(decide(withToken(input, more)).kind).toBe('allow');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('with hide_forbidden, an out-of-set resource is always resource_hidden', () => {
    const liveFineArb = fineArb.map((t) => ({ ...t, status: 'active' as const, expiresAt: iso(NOW + DAY) }));
    fc.assert(
      fc.property(inputArb, liveFineArb, (input, token) => {
        const { owner, repo } = input.resource;
        const otherOwner = owner !== null && owner !== token.resourceOwner;
        const otherRepo =
          owner === token.resourceOwner &&
          repo !== null &&
          token.repositories !== 'all' &&
          !token.repositories.includes(repo);
        fc.pre(otherOwner || otherRepo);
        // Org rules come before the repository check, so hold them satisfied for repositories.
        const snapshotOwner = otherOwner ? input.snapshot.owner : UNREGISTERED_OWNER;
        const decision = decide({
          ...input,
          snapshot: { token: { ...token, status: 'active' }, owner: snapshotOwner },
          hideForbidden: true,
        });
        expect(decision).toMatchObject({ kind: 'deny', reason: 'resource_hidden' });
      }),
      { numRuns: 2000 },
    );
  });

  it('hide_forbidden decides between hidden and forbidden, never both', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decide(input);
        if (decision.kind !== 'deny') return;
        const wrong = input.hideForbidden ? 'resource_forbidden' : 'resource_hidden';
        expect(decision.reason).not.toBe(wrong);
      }),
      { numRuns: 1000 },
    );
  });
});
