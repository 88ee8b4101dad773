import { z } from 'zod';
import { LEVELS } from '../grants/permission.js';

/** GitHub-style logins: letters, digits, single hyphens, at most 39 characters. */
export const loginSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/,
    'expected a login: letters, digits and single hyphens',
  );

const repositoryName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'expected a repository name: letters, digits, ".", "_" and "-"')
  .refine((s) => s !== '.' && s !== '..', 'expected a repository name');

const expiresAt = z.iso.datetime({
  offset: true,
  error: 'expected an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z',
});

/** Longest lifetime any token may have, whatever the org policy. */
export const MAX_TOKEN_LIFETIME_DAYS = 366;

const fineGrainedInput = z.strictObject({
  kind: z.literal('fine_grained'),
  user: loginSchema,
  name: z.string().min(1).max(100),
  resource_owner: loginSchema,
  repositories: z.union([z.literal('all'), z.array(repositoryName).min(1).max(1000)]),
  permissions: z.record(z.string(), z.enum(LEVELS)),
  expires_at: expiresAt.optional(),
  expires_in_days: z.int().min(1).max(MAX_TOKEN_LIFETIME_DAYS).optional(),
});

const classicInput = z.strictObject({
  kind: z.literal('classic'),
  user: loginSchema,
  name: z.string().min(1).max(100),
  scopes: z.array(z.enum(['read', 'write', 'admin'])).min(1),
  expires_at: expiresAt.optional(),
  expires_in_days: z.int().min(1).max(MAX_TOKEN_LIFETIME_DAYS).optional(),
});

export const createTokenInput = z.discriminatedUnion('kind', [fineGrainedInput, classicInput], {
  error: 'expected "kind": "fine_grained" or "classic"',
});
export type CreateTokenInput = z.infer<typeof createTokenInput>;

export const regenerateTokenInput = z
  .strictObject({
    expires_at: expiresAt.optional(),
    expires_in_days: z.int().min(1).max(MAX_TOKEN_LIFETIME_DAYS).optional(),
  })
  .default({});

export const listTokensQuery = z.strictObject({
  user: loginSchema.optional(),
  resource_owner: loginSchema.optional(),
  status: z.enum(['active', 'pending', 'denied', 'revoked']).optional(),
});
