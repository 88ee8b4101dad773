import { z } from 'zod';
import { LEVELS, type Level } from '../grants/permission.js';
import { isPlainText, MAX_TOKEN_DESCRIPTION_LENGTH } from '../grants/token-record.js';
import { lastUsedQueryFields } from './last-used-filter.js';
import { ipListInput, windowInput } from './org-input.js';

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

function isLevel(value: unknown): value is Level {
  return (LEVELS as readonly unknown[]).includes(value);
}

/**
 * feature → level, parsed into a map without a prototype. `z.record` writes its
 * result into a plain object, where an own `__proto__` key from JSON.parse is
 * silently dropped (assigning it sets the prototype instead), and `constructor`
 * or `toString` later look like inherited members. Here every own key of the
 * input is kept as data, so the catalogue check can name it.
 */
export const permissionMapSchema = z
  .custom<object>(
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    'expected an object of feature: level',
  )
  .transform((value, ctx) => {
    const map: Record<string, Level> = Object.create(null);
    for (const [feature, level] of Object.entries(value)) {
      if (isLevel(level)) map[feature] = level;
      else {
        ctx.addIssue({
          code: 'custom',
          path: [feature],
          message: `expected one of ${LEVELS.map((l) => JSON.stringify(l)).join(', ')}`,
        });
      }
    }
    return map;
  })
  // What the custom check accepts, for the OpenAPI document (`z.toJSONSchema` cannot read a check).
  .meta({
    type: 'object',
    additionalProperties: { enum: [...LEVELS] },
    description: "feature → level; every feature must be in the config's `features`",
  });

/** Longest lifetime any token may have, whatever the org policy. */
export const MAX_TOKEN_LIFETIME_DAYS = 366;

/** What the token is for, in the holder's words (GitHub's description); empty means none. */
const description = z
  .string()
  .max(MAX_TOKEN_DESCRIPTION_LENGTH)
  .refine(
    isPlainText,
    'expected plain text: no control characters but tab and line breaks, no bidi overrides',
  )
  .optional()
  .meta({
    description: `what the token is for, plain text, at most ${MAX_TOKEN_DESCRIPTION_LENGTH} characters`,
  });

/** Set at creation (src/limits/): where the token may be used from, and its own rate limit. */
const tokenLimitFields = {
  allowed_ips: ipListInput.min(1).optional(),
  rate_limit: z
    .strictObject({ limit: z.int().min(1).max(1_000_000_000), window: windowInput.default('1h') })
    .optional(),
};

const fineGrainedInput = z.strictObject({
  kind: z.literal('fine_grained'),
  user: loginSchema,
  name: z.string().min(1).max(100),
  description,
  resource_owner: loginSchema,
  repositories: z.union([z.literal('all'), z.array(repositoryName).min(1).max(1000)]),
  permissions: permissionMapSchema,
  expires_at: expiresAt.optional(),
  expires_in_days: z.int().min(1).max(MAX_TOKEN_LIFETIME_DAYS).optional(),
  ...tokenLimitFields,
});

const classicInput = z.strictObject({
  kind: z.literal('classic'),
  user: loginSchema,
  name: z.string().min(1).max(100),
  description,
  scopes: z.array(z.enum(['read', 'write', 'admin'])).min(1),
  expires_at: expiresAt.optional(),
  expires_in_days: z.int().min(1).max(MAX_TOKEN_LIFETIME_DAYS).optional(),
  ...tokenLimitFields,
});

export const createTokenInput = z.discriminatedUnion('kind', [fineGrainedInput, classicInput], {
  error: 'expected "kind": "fine_grained" or "classic"',
});
export type CreateTokenInput = z.infer<typeof createTokenInput>;

/** The longest a replaced secret keeps working after regenerate: one day. */
export const MAX_GRACE_PERIOD_MINUTES = 1_440;

export const regenerateTokenInput = z
  .strictObject({
    expires_at: expiresAt.optional(),
    expires_in_days: z.int().min(1).max(MAX_TOKEN_LIFETIME_DAYS).optional(),
    grace_period_minutes: z.number().positive().max(MAX_GRACE_PERIOD_MINUTES).optional(),
  })
  .default({});

export const listTokensQuery = z.strictObject({
  ...lastUsedQueryFields,
  user: loginSchema.optional(),
  resource_owner: loginSchema.optional(),
  status: z.enum(['active', 'pending', 'denied', 'revoked']).optional(),
});
