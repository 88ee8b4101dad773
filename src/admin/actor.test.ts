import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ORG_POLICY } from '../grants/owner.js';
import type { GrantMap } from '../grants/permission.js';
import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
import { MemoryGrantStore } from '../store/memory-store.js';
import { generateToken, generateTokenId, hashToken } from '../tokens/format.js';
import { type ActorResult, identifyActor } from './actor.js';

const NOW = Date.parse('2025-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const SITE = 'site-admin-credential-0123456789';
const store = new MemoryGrantStore();
const secrets: Record<string, string> = {};

async function issue(
  name: string,
  over: { user: string; owner?: string; permissions?: GrantMap; status?: TokenStatus; expired?: boolean },
  kind: 'fine_grained' | 'classic' = 'fine_grained',
): Promise<void> {
  const base = {
    id: generateTokenId(),
    user: over.user,
    name,
    status: over.status ?? 'active',
    createdAt: new Date(NOW - DAY).toISOString(),
    expiresAt: new Date(over.expired ? NOW - 1 : NOW + 29 * DAY).toISOString(),
  };
  const record: TokenRecord =
    kind === 'classic'
      ? { ...base, kind, scopes: ['admin'] }
      : {
          ...base,
          kind,
          resourceOwner: over.owner ?? 'acme',
          repositories: 'all',
          permissions: over.permissions ?? { organization_tokens: 'write' },
        };
  const secret = generateToken(kind);
  await store.createToken(hashToken(secret), record);
  secrets[name] = secret;
}

beforeAll(async () => {
  await store.setMember('acme', 'carol', 'admin');
  await store.setMember('acme', 'alice', 'member');
  await store.setMember('acme', 'erin', 'admin');
  await store.setMember('globex', 'dave', 'admin');
  await store.setMember('initech', 'ivan', 'admin');
  await store.setOrgPolicy('initech', { ...DEFAULT_ORG_POLICY, fineGrainedTokens: 'blocked' });
  await issue('carol-write', { user: 'carol' });
  await issue('carol-read', { user: 'carol', permissions: { organization_tokens: 'read' } });
  await issue('carol-issues', { user: 'carol', permissions: { issues: 'write' } });
  await issue('carol-revoked', { user: 'carol', status: 'revoked' });
  await issue('carol-expired', { user: 'carol', expired: true });
  await issue('carol-pending', { user: 'carol', status: 'pending' });
  await issue('carol-denied', { user: 'carol', status: 'denied' });
  await issue('carol-classic', { user: 'carol' }, 'classic');
  await issue('alice-write', { user: 'alice' });
  await issue('dave-write', { user: 'dave', owner: 'globex' });
  await issue('ivan-write', { user: 'ivan', owner: 'initech' });
  await issue('frank-write', { user: 'frank', owner: 'acme' });
});

interface Case {
  readonly name: string;
  /** A key of `secrets`, the site credential, or a literal. */
  readonly credential: string | undefined;
  readonly org: string | null;
  readonly level: 'read' | 'write';
  readonly expected: 'site_admin' | 'org_admin' | { status: 401 | 403; says: RegExp };
}

const CASES: readonly Case[] = [
  { name: 'site admin, any path', credential: SITE, org: null, level: 'write', expected: 'site_admin' },
  { name: 'site admin on an org', credential: SITE, org: 'acme', level: 'write', expected: 'site_admin' },
  {
    name: 'no credential',
    credential: undefined,
    org: 'acme',
    level: 'read',
    expected: { status: 401, says: /required/ },
  },
  {
    name: 'not a patgate token',
    credential: 'guess',
    org: 'acme',
    level: 'read',
    expected: { status: 401, says: /valid admin credential/ },
  },
  { name: 'org admin, write', credential: 'carol-write', org: 'acme', level: 'write', expected: 'org_admin' },
  {
    name: 'org admin, write implies read',
    credential: 'carol-write',
    org: 'acme',
    level: 'read',
    expected: 'org_admin',
  },
  {
    name: 'org admin, :read for a read',
    credential: 'carol-read',
    org: 'acme',
    level: 'read',
    expected: 'org_admin',
  },
  {
    name: 'org admin, :read is not enough to write',
    credential: 'carol-read',
    org: 'acme',
    level: 'write',
    expected: { status: 403, says: /organization_tokens:write/ },
  },
  {
    name: 'org admin, token without the permission',
    credential: 'carol-issues',
    org: 'acme',
    level: 'read',
    expected: { status: 403, says: /organization_tokens:read/ },
  },
  {
    name: 'plain member holding the permission',
    credential: 'alice-write',
    org: 'acme',
    level: 'read',
    expected: { status: 403, says: /alice is not an admin of organization acme/ },
  },
  {
    name: 'non-member holding the permission',
    credential: 'frank-write',
    org: 'acme',
    level: 'read',
    expected: { status: 403, says: /not a member/ },
  },
  {
    name: 'admin of another org',
    credential: 'dave-write',
    org: 'acme',
    level: 'read',
    expected: { status: 403, says: /not the resource owner/ },
  },
  {
    name: 'org admin on another org',
    credential: 'carol-write',
    org: 'globex',
    level: 'read',
    expected: { status: 403, says: /not the resource owner/ },
  },
  {
    name: 'org admin on a site-admin path',
    credential: 'carol-write',
    org: null,
    level: 'read',
    expected: { status: 403, says: /site admin credential/ },
  },
  {
    name: 'classic token of an org admin',
    credential: 'carol-classic',
    org: 'acme',
    level: 'read',
    expected: { status: 403, says: /fine-grained token/ },
  },
  {
    name: 'revoked token',
    credential: 'carol-revoked',
    org: 'acme',
    level: 'read',
    expected: { status: 401, says: /revoked/ },
  },
  {
    name: 'expired token',
    credential: 'carol-expired',
    org: 'acme',
    level: 'read',
    expected: { status: 401, says: /expired/ },
  },
  {
    name: 'token pending approval',
    credential: 'carol-pending',
    org: 'acme',
    level: 'read',
    expected: { status: 403, says: /waiting for approval/ },
  },
  {
    name: 'token denied by the org',
    credential: 'carol-denied',
    org: 'acme',
    level: 'read',
    expected: { status: 403, says: /denied/ },
  },
  {
    name: 'org blocks fine-grained tokens: its own admins too',
    credential: 'ivan-write',
    org: 'initech',
    level: 'read',
    expected: { status: 403, says: /blocks fine-grained tokens/ },
  },
];

describe('identifyActor: table', () => {
  it.each(CASES)('$name', async (c) => {
    const credential = c.credential === undefined ? undefined : (secrets[c.credential] ?? c.credential);
    const result: ActorResult = await identifyActor(store, SITE, credential, c.org, c.level, NOW);
    if (c.expected === 'site_admin' || c.expected === 'org_admin') {
      expect(result).toMatchObject({ ok: true, actor: { kind: c.expected } });
      return;
    }
    expect(result).toMatchObject({ ok: false, status: c.expected.status });
    expect(result.ok ? '' : result.detail).toMatch(c.expected.says);
  });

  it.each([
    ['missing', undefined],
    ['invalid', 'guess'],
    ['unknown', generateToken('fine_grained')],
    ['revoked', 'carol-revoked'],
    ['expired', 'carol-expired'],
  ])('says why a credential did not authenticate: %s', async (reason, credential) => {
    const value = credential === undefined ? undefined : (secrets[credential] ?? credential);
    const result = await identifyActor(store, SITE, value, 'acme', 'read', NOW);
    expect(result).toMatchObject({ ok: false, status: 401, reason });
  });

  it('names the org admin and the token they acted with', async () => {
    const result = await identifyActor(store, SITE, secrets['carol-write'], 'acme', 'write', NOW);
    expect(result).toMatchObject({ ok: true, actor: { kind: 'org_admin', user: 'carol' } });
  });

  it('without a site credential configured, nothing equals it', async () => {
    const result = await identifyActor(store, undefined, SITE, 'acme', 'read', NOW);
    expect(result).toMatchObject({ ok: false, status: 401 });
  });

  it('an admin demoted to member loses the admin API at once', async () => {
    await store.setMember('acme', 'erin', 'admin');
    await issue('erin-write', { user: 'erin' });
    expect(await identifyActor(store, SITE, secrets['erin-write'], 'acme', 'read', NOW)).toMatchObject({
      ok: true,
    });
    await store.setMember('acme', 'erin', 'member');
    expect(await identifyActor(store, SITE, secrets['erin-write'], 'acme', 'read', NOW)).toMatchObject({
      ok: false,
      status: 403,
    });
  });
});
