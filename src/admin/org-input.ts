import { z } from 'zod';
import { parseCidr } from '../config/cidr.js';
import { parseWindow } from '../limits/window.js';

import { MAX_REVOKE_UNUSED_AFTER_DAYS } from '../store/record-codec.js';
import { lastUsedQueryFields } from './last-used-filter.js';

/** An IP allow list: CIDR blocks or addresses, IPv4 or IPv6 (src/limits/). */
export const ipListInput = z
  .array(
    z
      .string()
      .refine((s) => parseCidr(s) !== null, 'expected an IP address or CIDR block, e.g. "10.0.0.0/8"'),
  )
  .max(1_000);

/** A rate-limit window: `30s`, `15m`, `1h`, `1d`. */
export const windowInput = z
  .string()
  .refine((w) => parseWindow(w) !== null, 'expected a window like "1h", "15m", "30s" or "1d" (1 s to 7 d)');

export const policyInput = z.strictObject({
  require_approval: z.boolean().optional(),
  max_lifetime_days: z.int().min(1).max(366).nullable().optional(),
  classic_tokens: z.enum(['allowed', 'blocked']).optional(),
  fine_grained_tokens: z.enum(['allowed', 'blocked']).optional(),
  // Client addresses requests reaching the org may come from; null or [] removes the list.
  ip_allow_list: ipListInput.nullable().optional(),
  // The org's primary rate limit instead of the config's default; null removes it.
  rate_limit: z
    .strictObject({
      limit: z.int().min(1).max(1_000_000_000),
      window: windowInput.default('1h'),
      per: z.enum(['user', 'token', 'org']).default('user'),
    })
    .nullable()
    .optional(),
  // Fine-grained tokens unused this many days are revoked by the scheduler; null turns it off.
  revoke_unused_after_days: z.int().min(1).max(MAX_REVOKE_UNUSED_AFTER_DAYS).nullable().optional(),
  /** Apply even a policy that leaves no org admin able to act (see policy-lockout.ts). Not stored. */
  force: z.boolean().optional(),
});

/** `GET /v1/orgs/{org}/tokens`: GitHub's last-used filters. */
export const orgTokensQuery = z.strictObject(lastUsedQueryFields);

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
