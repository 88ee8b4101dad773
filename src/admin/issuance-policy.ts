import type { MemberRole, OrgPolicy } from '../grants/owner.js';
import type { TokenStatus } from '../grants/token-record.js';

const DAY_MS = 86_400_000;

/** A refusal that names the field at fault: answered as 400 or 422 with problem+json. */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly status: 400 | 422 = 400,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

export interface IssuanceRequest {
  readonly org: string;
  readonly user: string;
  /** null: the owner is not a registered org (a user account, or an org nobody set up). */
  readonly policy: OrgPolicy | null;
  readonly members: ReadonlyMap<string, MemberRole>;
  /** Epoch ms the token's lifetime counts from, and its expiry. */
  readonly from: number;
  readonly expiresAt: number;
}

/**
 * What an org's policy says about issuing (or regenerating) a fine-grained token
 * for it: the status it starts in, or the refusal naming the policy. Refusing at
 * issuance what `decide` would refuse at use spares the holder a token that can
 * never work.
 */
export function checkIssuance(req: IssuanceRequest): TokenStatus {
  const { org, policy } = req;
  if (policy === null) return 'active';
  if (policy.fineGrainedTokens === 'blocked') {
    throw new InputError(
      'resource_owner',
      `organization ${org} blocks fine-grained tokens (policy fine_grained_tokens: blocked)`,
      422,
    );
  }
  if (!req.members.has(req.user)) {
    throw new InputError('user', `${req.user} is not a member of organization ${org}`, 422);
  }
  const maxDays = policy.maxLifetimeDays;
  if (maxDays !== null && req.expiresAt - req.from > maxDays * DAY_MS) {
    const latest = new Date(req.from + maxDays * DAY_MS).toISOString();
    throw new InputError(
      'expires_at',
      `organization ${org} allows tokens of at most ${maxDays} days (policy max_lifetime_days); the latest allowed expiry is ${latest}`,
      422,
    );
  }
  return policy.requireApproval ? 'pending' : 'active';
}
