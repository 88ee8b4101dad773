import { z } from 'zod';

export const policyInput = z.strictObject({
  require_approval: z.boolean().optional(),
  max_lifetime_days: z.int().min(1).max(366).nullable().optional(),
  classic_tokens: z.enum(['allowed', 'blocked']).optional(),
  fine_grained_tokens: z.enum(['allowed', 'blocked']).optional(),
  /** Apply even a policy that leaves no org admin able to act (see policy-lockout.ts). Not stored. */
  force: z.boolean().optional(),
});

export const memberInput = z.strictObject({
  role: z.enum(['member', 'admin']),
});

export const decisionInput = z
  .strictObject({
    reason: z.string().max(500).optional(),
  })
  .default({});

export const auditQuery = z.strictObject({
  org: z.string().optional(),
  token: z.string().optional(),
  user: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** An optional `{"reason"}` body on revocations and removals: recorded in the audit log. */
export const reasonInput = decisionInput;

/** `GET /v1/orgs/{org}/audit`: the org is the path's. */
export const orgAuditQuery = auditQuery.omit({ org: true });
