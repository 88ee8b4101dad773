import { describe, expect, it } from 'vitest';
import { classic, fineGrained } from '../../test/contract/token-fixtures.js';
import { DEFAULT_ORG_POLICY } from '../grants/owner.js';
import type { Invitation } from './grant-store.js';
import {
  CorruptRecordError,
  decodeInvitationJson,
  decodeMembers,
  decodePolicyJson,
  decodeRole,
  decodeTokenJson,
  encodeInvitation,
  encodeLogin,
  encodeTokenRecord,
} from './record-codec.js';

const FINE = fineGrained({ id: 'tok_aaaaaaaaaaaaaaaaaaaa' });
const CLASSIC = classic({ id: 'tok_bbbbbbbbbbbbbbbbbbbb' });
const INVITATION: Invitation = {
  org: 'acme',
  user: 'bob',
  role: 'member',
  invitedBy: 'site_admin',
  createdAt: '2025-01-01T00:00:00.000Z',
  expiresAt: '2025-01-08T00:00:00.000Z',
};

/** `base` with `changes` applied; an `undefined` value removes the field. */
function altered(base: object, changes: Record<string, unknown>): string {
  const copy: Record<string, unknown> = { ...base, ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete copy[key];
  return JSON.stringify(copy);
}

function rejects(decode: (raw: unknown) => unknown, raw: unknown): CorruptRecordError {
  try {
    decode(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(CorruptRecordError);
    return err as CorruptRecordError;
  }
  throw new Error('decoded a corrupt record');
}

describe('record codec (records trusted as read)', () => {
  describe('token records', () => {
    it('decodes well-formed records of both kinds unchanged', () => {
      expect(decodeTokenJson(JSON.stringify(FINE))).toEqual(FINE);
      expect(decodeTokenJson(JSON.stringify(CLASSIC))).toEqual(CLASSIC);
      const revoked = { ...CLASSIC, status: 'revoked', revokedAt: '2025-02-01T00:00:00Z', statusReason: 'x' };
      expect(decodeTokenJson(JSON.stringify(revoked))).toEqual(revoked);
      expect(decodeTokenJson(altered(FINE, { repositories: 'all', permissions: {} }))).toMatchObject({
        repositories: 'all',
      });
      const described = {
        ...FINE,
        description: `Deploys acme/api.\n\tTabs and "quotes" stay. ${'é'.repeat(970)}`,
      };
      expect(decodeTokenJson(JSON.stringify(described))).toEqual(described);
      expect(decodeTokenJson(JSON.stringify({ ...CLASSIC, description: 'x'.repeat(1024) }))).toMatchObject({
        description: 'x'.repeat(1024),
      });
    });

    it('lower-cases the user, the resource owner and the repositories', () => {
      const shouted = altered(FINE, { user: 'Alice', resourceOwner: 'ACME', repositories: ['API', 'Web'] });
      expect(decodeTokenJson(shouted)).toEqual({
        ...FINE,
        user: 'alice',
        resourceOwner: 'acme',
        repositories: ['api', 'web'],
      });
    });

    it.each<[string, unknown]>([
      ['not a string', 42],
      ['not JSON', '{"kind":'],
      ['JSON null', 'null'],
      ['a JSON array', '[]'],
      ['an unknown kind', altered(FINE, { kind: 'oauth' })],
      ['no kind', altered(FINE, { kind: undefined })],
      ['an unknown status', altered(FINE, { status: 'frozen' })],
      ['a status in another case', altered(FINE, { status: 'Revoked' })],
      ['no status', altered(FINE, { status: undefined })],
      ['repositories as a string (matched letter by letter)', altered(FINE, { repositories: 'api' })],
      ['repositories holding a non-string', altered(FINE, { repositories: ['api', 7] })],
      ['a repository with a slash', altered(FINE, { repositories: ['acme/api'] })],
      ['a repository named ..', altered(FINE, { repositories: ['..'] })],
      ['no repositories', altered(FINE, { repositories: undefined })],
      ['a resource owner that is no login', altered(FINE, { resourceOwner: 'acme:members' })],
      ['an empty resource owner', altered(FINE, { resourceOwner: '' })],
      ['a non-ASCII resource owner', altered(FINE, { resourceOwner: 'ACMÉ' })],
      ['a resource owner that is no string', altered(FINE, { resourceOwner: ['acme'] })],
      ['a user that is no string', altered(FINE, { user: 42 })],
      ['no user', altered(FINE, { user: undefined })],
      ['an unknown level', altered(FINE, { permissions: { issues: 'superuser' } })],
      ['a feature that is no feature name', altered(FINE, { permissions: { Issues: 'read' } })],
      ['permissions as a list', altered(FINE, { permissions: ['issues:read'] })],
      ['an unknown field (a restriction this version would drop)', altered(FINE, { ipAllowlist: ['10/8'] })],
      ['a classic record with a resource owner', altered(CLASSIC, { resourceOwner: 'acme' })],
      ['an unknown scope', altered(CLASSIC, { scopes: ['root'] })],
      ['scopes as a string', altered(CLASSIC, { scopes: 'admin' })],
      ['an expiry that is no instant', altered(FINE, { expiresAt: 'never' })],
      ['an expiry that is a number', altered(FINE, { expiresAt: 4102444800000 })],
      ['a revocation instant that is no instant', altered(FINE, { status: 'revoked', revokedAt: 'T' })],
      ['an empty id', altered(FINE, { id: '' })],
      ['a status reason that is no string', altered(FINE, { statusReason: { text: 'x' } })],
      ['a description that is a number', altered(FINE, { description: 42 })],
      ['a description that is a list', altered(FINE, { description: ['ci'] })],
      ['a description that is null', altered(FINE, { description: null })],
      ['an empty description', altered(FINE, { description: '' })],
      ['a description over 1024 characters', altered(CLASSIC, { description: 'x'.repeat(1025) })],
      ['a description with a terminal escape', altered(FINE, { description: 'ci \u001b[31mred' })],
      ['a description with a bidi override', altered(FINE, { description: 'ci \u202e' })],
    ])('rejects %s', (_label, raw) => {
      rejects(decodeTokenJson, raw);
    });

    it('names the path of the problem, never the value read', () => {
      const error = rejects(decodeTokenJson, altered(FINE, { status: 'secret-looking-value' }));
      expect(error.problem).toMatch(/^status: /);
      expect(error.message).not.toContain('secret-looking-value');
    });
  });

  describe('org policies', () => {
    it('decodes a well-formed policy', () => {
      expect(decodePolicyJson(JSON.stringify(DEFAULT_ORG_POLICY))).toEqual(DEFAULT_ORG_POLICY);
      const strict = { ...DEFAULT_ORG_POLICY, maxLifetimeDays: 90, classicTokens: 'blocked' };
      expect(decodePolicyJson(JSON.stringify(strict))).toEqual(strict);
    });

    it.each<[string, unknown]>([
      ['not JSON', 'allowed'],
      ['JSON null', 'null'],
      ['an unknown classicTokens value', altered(DEFAULT_ORG_POLICY, { classicTokens: 'maybe' })],
      ['classicTokens in another case', altered(DEFAULT_ORG_POLICY, { classicTokens: 'Blocked' })],
      ['an unknown fineGrainedTokens value', altered(DEFAULT_ORG_POLICY, { fineGrainedTokens: 'no' })],
      ['no fineGrainedTokens', altered(DEFAULT_ORG_POLICY, { fineGrainedTokens: undefined })],
      ['requireApproval as a string', altered(DEFAULT_ORG_POLICY, { requireApproval: 'yes' })],
      ['a lifetime of 0 days', altered(DEFAULT_ORG_POLICY, { maxLifetimeDays: 0 })],
      ['a fractional lifetime', altered(DEFAULT_ORG_POLICY, { maxLifetimeDays: 1.5 })],
      ['a lifetime as a string', altered(DEFAULT_ORG_POLICY, { maxLifetimeDays: '30' })],
      ['an unknown field', altered(DEFAULT_ORG_POLICY, { allowedIps: [] })],
    ])('rejects %s', (_label, raw) => {
      rejects(decodePolicyJson, raw);
    });
  });

  describe('member roles', () => {
    it.each(['member', 'admin'])('decodes %s', (role) => {
      expect(decodeRole(role)).toBe(role);
    });

    it.each<unknown>(['owner', 'Admin', '', 1, null])('rejects %j', (raw) => {
      rejects(decodeRole, raw);
    });

    it('decodes a member hash, lower-casing the users', () => {
      expect(decodeMembers({ Alice: 'admin', bob: 'member' })).toEqual(
        new Map([
          ['alice', 'admin'],
          ['bob', 'member'],
        ]),
      );
    });

    it.each<[string, unknown]>([
      ['an unknown role', { alice: 'owner' }],
      ['a user that is no login', { 'alice bob': 'member' }],
      ['one user twice, in two cases', { Alice: 'member', alice: 'admin' }],
      ['no hash at all', 'alice'],
    ])('rejects a member hash with %s', (_label, raw) => {
      rejects(decodeMembers, raw);
    });
  });

  describe('invitations', () => {
    it('decodes a well-formed invitation, lower-casing names', () => {
      expect(decodeInvitationJson(JSON.stringify(INVITATION))).toEqual(INVITATION);
      const byAdmin = { ...INVITATION, org: 'ACME', user: 'Bob', invitedBy: 'Carol' };
      expect(decodeInvitationJson(JSON.stringify(byAdmin))).toEqual({
        ...INVITATION,
        invitedBy: 'carol',
      });
    });

    it.each<[string, unknown]>([
      ['not JSON', '{'],
      ['an unknown role', altered(INVITATION, { role: 'owner' })],
      ['an org that is no login', altered(INVITATION, { org: 'acme:members' })],
      ['no user', altered(INVITATION, { user: undefined })],
      ['an expiry that is no instant', altered(INVITATION, { expiresAt: 'soon' })],
      ['an inviter that is no login', altered(INVITATION, { invitedBy: 'site admin' })],
      ['an unknown field', altered(INVITATION, { note: 'hi' })],
    ])('rejects %s', (_label, raw) => {
      rejects(decodeInvitationJson, raw);
    });
  });

  describe('writes', () => {
    it('lower-cases what it writes, so that every read finds it', () => {
      expect(encodeLogin('ACME')).toBe('acme');
      expect(
        encodeTokenRecord({ ...FINE, user: 'Alice', resourceOwner: 'AcMe', repositories: ['API'] }),
      ).toEqual({
        ...FINE,
        user: 'alice',
        resourceOwner: 'acme',
        repositories: ['api'],
      });
      expect(encodeInvitation({ ...INVITATION, org: 'ACME', user: 'BOB' })).toEqual(INVITATION);
    });

    it('refuses with a TypeError what no read could accept back', () => {
      expect(() => encodeLogin('acme:members')).toThrow(TypeError);
      expect(() => encodeTokenRecord({ ...FINE, repositories: 'api' } as unknown as typeof FINE)).toThrow(
        TypeError,
      );
      expect(() => encodeTokenRecord({ ...CLASSIC, expiresAt: 'never' })).toThrow(TypeError);
    });
  });
});
