import type { Decision } from '../grants/decision.js';
import type { InstantMemo } from '../grants/instant.js';
import type { TokenRecord } from '../grants/token-record.js';
import type { BudgetStatus } from '../limits/request-limits.js';

type Deny = Extract<Decision, { kind: 'deny' }>;

/** `GET /_patgate/rate_limit`; GitHub's `/rate_limit` with `compat: github`. */
export const RATE_LIMIT_PATH = '/_patgate/rate_limit';
export const GITHUB_RATE_LIMIT_PATH = '/rate_limit';

/**
 * Whether a token may read its budgets: the lifecycle part of `decide` (no route, so no
 * permission to check). Null: it may.
 */
export function unusableToken(token: TokenRecord, now: number, instants: InstantMemo): Deny | null {
  const id = token.id;
  if (token.status === 'revoked') return deny('token_revoked', `token ${id} was revoked`, id);
  if (token.graceUntil !== undefined && !(instants.parse(token.graceUntil) > now)) {
    return deny('token_revoked', `this secret of token ${id} was replaced`, id);
  }
  if (!(instants.parse(token.expiresAt) > now))
    return deny('token_expired', `token expired at ${token.expiresAt}`, id);
  if (token.status === 'pending') return deny('token_pending', `token ${id} is waiting for approval`, id);
  if (token.status === 'denied') return deny('token_denied', `token ${id} was denied`, id);
  return null;
}

function deny(reason: Deny['reason'], detail: string, tokenId: string): Deny {
  return { kind: 'deny', reason, detail, tokenId };
}

/** GitHub's response shape: `resources.core` and, deprecated there but still read, `rate`. */
export function rateLimitBody(status: BudgetStatus): string {
  const core = {
    limit: status.limit,
    used: status.used,
    remaining: status.remaining,
    reset: status.reset,
    resource: status.resource,
  };
  return JSON.stringify({ resources: { core }, rate: core });
}
