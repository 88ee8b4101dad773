/**
 * The one reading of every record a store holds (tokens, org policies, member
 * roles, invitations). A record read back from Redis is data someone else wrote:
 * an unknown status, a `repositories` string (which `decide` would match letter
 * by letter) or an unknown policy value must fail closed, never pass as a
 * near-miss of the right shape. Names are lower-cased here, on the way in and on
 * the way out, since logins compare case-insensitively and the Redis keys are
 * derived from them.
 *
 * The TS types stay those of `grants/`; the schemas are checked against them
 * below and by the codec's table-driven tests.
 */
import { z } from 'zod';
import { parseCidr } from '../config/cidr.js';
import type { MemberRole, OrgPolicy } from '../grants/owner.js';
import { LEVELS } from '../grants/permission.js';
import { isPlainText, MAX_TOKEN_DESCRIPTION_LENGTH, type TokenRecord } from '../grants/token-record.js';
import { MAX_WINDOW_SECONDS } from '../limits/window.js';
import type { Invitation } from './grant-store.js';

/** A stored value that does not decode. `problem` names paths and codes, never the values read. */
export class CorruptRecordError extends Error {
  readonly code = 'PATGATE_STORE_CORRUPT_RECORD';
  readonly problem: string;
  constructor(what: string, problem: string) {
    super(`corrupt ${what}: ${problem}`);
    this.name = 'CorruptRecordError';
    this.problem = problem;
  }
}

// GitHub's logins: letters, digits and single inner hyphens, at most 39 characters.
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
// As `parsePermission` accepts them; also keeps `__proto__` and friends out of grant maps.
const FEATURE = /^[a-z][a-z0-9_]*$/;

const lower = (name: string): string => name.toLowerCase();
const login = z.string().regex(LOGIN).transform(lower);
const repository = z
  .string()
  .regex(REPOSITORY)
  .refine((name) => name !== '.' && name !== '..')
  .transform(lower);
const instant = z.iso.datetime({ offset: true });
// Rate limits and IP allow lists (src/limits/): a list that does not parse would allow nothing,
// a limit that is no positive integer would count nothing; both are corrupt, never skipped.
const cidrList = z.array(z.string().refine((s) => parseCidr(s) !== null)).max(1_000);
const rateLimitCount = z.int().min(1).max(1_000_000_000);
const rateLimitWindow = z.int().min(1).max(MAX_WINDOW_SECONDS);
const memberRole = z.enum(['member', 'admin']);
/** `revoke_unused_after_days` at most ten years: GitHub's own is one year. */
export const MAX_REVOKE_UNUSED_AFTER_DAYS = 3_660;

const tokenBase = {
  id: z.string().min(1),
  user: login,
  name: z.string(),
  description: z.string().min(1).max(MAX_TOKEN_DESCRIPTION_LENGTH).refine(isPlainText).optional(),
  status: z.enum(['active', 'pending', 'denied', 'revoked']),
  createdAt: instant,
  expiresAt: instant,
  revokedAt: instant.optional(),
  regeneratedAt: instant.optional(),
  statusReason: z.string().optional(),
  allowedIps: cidrList.optional(),
  rateLimit: z.strictObject({ limit: rateLimitCount, windowSeconds: rateLimitWindow }).optional(),
};

// Strict objects: a field this version does not know may be a restriction it would
// otherwise silently drop.
const tokenRecord = z.discriminatedUnion('kind', [
  z.strictObject({
    ...tokenBase,
    kind: z.literal('fine_grained'),
    resourceOwner: login,
    repositories: z.union([z.literal('all'), z.array(repository)]),
    permissions: z.record(z.string().regex(FEATURE), z.enum(LEVELS)),
  }),
  z.strictObject({
    ...tokenBase,
    kind: z.literal('classic'),
    scopes: z.array(z.enum(['read', 'write', 'admin'])),
  }),
]);

const orgPolicy = z.strictObject({
  requireApproval: z.boolean(),
  maxLifetimeDays: z.int().min(1).nullable(),
  classicTokens: z.enum(['allowed', 'blocked']),
  fineGrainedTokens: z.enum(['allowed', 'blocked']),
  ipAllowList: cidrList.optional(),
  rateLimit: z
    .strictObject({
      limit: rateLimitCount,
      windowSeconds: rateLimitWindow,
      per: z.enum(['user', 'token', 'org']),
    })
    .optional(),
  revokeUnusedAfterDays: z.int().min(1).max(MAX_REVOKE_UNUSED_AFTER_DAYS).optional(),
});

const invitation = z.strictObject({
  org: login,
  user: login,
  role: memberRole,
  invitedBy: z.union([z.literal('site_admin'), login]),
  createdAt: instant,
  expiresAt: instant,
});

/** What a read of `what` yields, or CorruptRecordError. */
function decodeWith<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new CorruptRecordError(what, describeIssues(result.error));
}

/** A write of `what`, normalised; a TypeError for a value no read could accept back. */
function encodeWith<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new TypeError(`invalid ${what}: ${describeIssues(result.error)}`);
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length === 0 ? '(root)' : issue.path.join('.')}: ${issue.code}`)
    .join('; ');
}

function parseJson(what: string, raw: unknown): unknown {
  if (typeof raw !== 'string')
    throw new CorruptRecordError(what, `expected a JSON string, got ${typeof raw}`);
  try {
    return JSON.parse(raw);
  } catch {
    throw new CorruptRecordError(what, 'not JSON');
  }
}

// The schemas' outputs must be the domain types; checked here at compile time.
const tokenSchema: z.ZodType<TokenRecord> = tokenRecord;
const policySchema: z.ZodType<OrgPolicy> = orgPolicy;
const roleSchema: z.ZodType<MemberRole> = memberRole;
const invitationSchema: z.ZodType<Invitation> = invitation;
const loginSchema: z.ZodType<string> = login;

export function decodeTokenJson(raw: unknown): TokenRecord {
  return decodeWith(tokenSchema, 'token record', parseJson('token record', raw));
}

export function decodePolicyJson(raw: unknown): OrgPolicy {
  return decodeWith(policySchema, 'org policy', parseJson('org policy', raw));
}

export function decodeInvitationJson(raw: unknown): Invitation {
  return decodeWith(invitationSchema, 'invitation', parseJson('invitation', raw));
}

export function decodeRole(raw: unknown): MemberRole {
  return decodeWith(roleSchema, 'member role', raw);
}

/** A member hash as read (user -> role). Two users equal but for case are ambiguous, hence corrupt. */
export function decodeMembers(raw: unknown): Map<string, MemberRole> {
  if (typeof raw !== 'object' || raw === null) throw new CorruptRecordError('member list', 'not a hash');
  const members = new Map<string, MemberRole>();
  for (const [user, role] of Object.entries(raw)) {
    const name = decodeWith(loginSchema, 'member name', user);
    if (members.has(name)) throw new CorruptRecordError('member list', 'a user listed twice');
    members.set(name, decodeRole(role));
  }
  return members;
}

export function encodeTokenRecord(record: TokenRecord): TokenRecord {
  return encodeWith(tokenSchema, 'token record', record);
}

export function encodePolicy(policy: OrgPolicy): OrgPolicy {
  return encodeWith(policySchema, 'org policy', policy);
}

export function encodeInvitation(value: Invitation): Invitation {
  return encodeWith(invitationSchema, 'invitation', value);
}

export function encodeRole(role: MemberRole): MemberRole {
  return encodeWith(roleSchema, 'member role', role);
}

/** An org or user name about to become part of a key: validated and lower-cased. */
export function encodeLogin(name: string): string {
  return encodeWith(loginSchema, 'login', name);
}
