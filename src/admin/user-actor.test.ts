import { beforeAll, describe, expect, it } from 'vitest';
import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
import { MemoryGrantStore } from '../store/memory-store.js';
import { generateToken, generateTokenId, hashToken } from '../tokens/format.js';
import { identifyUser } from './user-actor.js';

const NOW = Date.parse('2025-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const SITE = 'site-admin-credential-0123456789';
const store = new MemoryGrantStore();
const secrets: Record<string, { secret: string; id: string }> = {};

async function issue(
  name: string,
  kind: 'fine_grained' | 'classic',
  over: { status?: TokenStatus; expired?: boolean } = {},
): Promise<void> {
  const base = {
    id: generateTokenId(),
    user: 'bob',
    name,
    status: over.status ?? 'active',
    createdAt: new Date(NOW - DAY).toISOString(),
    expiresAt: new Date(over.expired ? NOW - 1 : NOW + 29 * DAY).toISOString(),
  };
  const record: TokenRecord =
    kind === 'classic'
      ? { ...base, kind, scopes: ['read'] }
      : { ...base, kind, resourceOwner: 'globex', repositories: 'all', permissions: { issues: 'read' } };
  const secret = generateToken(kind);
  await store.createToken(hashToken(secret), record);
  secrets[name] = { secret, id: record.id };
}

beforeAll(async () => {
  // bob is in no org: a token identifies its user whatever it may reach.
  await issue('fine', 'fine_grained');
  await issue('classic', 'classic');
  await issue('revoked', 'classic', { status: 'revoked' });
  await issue('expired', 'fine_grained', { expired: true });
  await issue('pending', 'fine_grained', { status: 'pending' });
});

describe('identifyUser', () => {
  it.each(['fine', 'classic'])('an active %s token acts as its user', async (name) => {
    const result = await identifyUser(store, SITE, secrets[name]?.secret, NOW);
    expect(result).toEqual({ ok: true, actor: { kind: 'user', user: 'bob', tokenId: secrets[name]?.id } });
  });

  it.each([
    ['no credential', undefined, 401, 'missing'],
    ['not a token', 'guess', 401, 'invalid'],
    ['an unknown token', generateToken('classic'), 401, 'unknown'],
    ['a revoked token', 'revoked', 401, 'revoked'],
    ['an expired token', 'expired', 401, 'expired'],
    ['a pending token', 'pending', 403, undefined],
    ['the site admin credential', SITE, 403, undefined],
  ])('refuses %s', async (_name, credential, status, reason) => {
    const value = credential === undefined ? undefined : (secrets[credential]?.secret ?? credential);
    const result = await identifyUser(store, SITE, value, NOW);
    expect(result).toMatchObject({ ok: false, status });
    if (reason !== undefined) expect(result).toMatchObject({ reason });
  });
});
