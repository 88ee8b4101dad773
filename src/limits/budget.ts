/** Whose requests share one budget. */
export type BudgetScope = 'user' | 'token' | 'org';
export const BUDGET_SCOPES = ['user', 'token', 'org'] as const satisfies readonly BudgetScope[];

/** A primary limit: `limit` points per window of `windowSeconds`, counted per `per`. */
export interface RateBudget {
  readonly limit: number;
  readonly windowSeconds: number;
  readonly per: BudgetScope;
}

/** The budget a token's own override sets: always the token's own counter. */
export interface TokenRateLimit {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** GitHub's name for the REST budget, in `X-RateLimit-Resource` and `resources.core`. */
export const CORE_RESOURCE = 'core';

/**
 * Which budget applies, most specific first: the token's override, the org's policy, the
 * config's default. `org` is the policy of the org the request reaches, if registered.
 */
export function resolveBudget(
  configDefault: RateBudget,
  orgPolicy: RateBudget | undefined,
  token: TokenRateLimit | undefined,
): RateBudget {
  if (token !== undefined) return { limit: token.limit, windowSeconds: token.windowSeconds, per: 'token' };
  return orgPolicy ?? configDefault;
}

/**
 * The local counter's name for a budget's subject: scope, subject and window, so that two
 * budgets of different windows never share a count. Logins and token ids hold no `:`.
 */
export function subjectKey(budget: RateBudget, user: string, tokenId: string, owner: string): string {
  const subject =
    budget.per === 'user' ? `u:${user}` : budget.per === 'token' ? `t:${tokenId}` : `o:${owner}`;
  return `${subject}:${budget.windowSeconds}`;
}
