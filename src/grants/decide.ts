import type { RouteRequirement } from '../routes/types.js';
import type { Decision, DenyReason } from './decision.js';
import { type InstantMemo, parseInstant } from './instant.js';
import type { OwnerState } from './owner.js';
import { formatPermission, holds, levelRank, type Permission, type PermissionSet } from './permission.js';
import type { RequestResource } from './resource.js';
import type { ClassicScope, TokenRecord } from './token-record.js';

export interface DecideInput {
  /** What the store returned for the token and the owner the request reaches. */
  readonly snapshot: { readonly token: TokenRecord; readonly owner: OwnerState };
  readonly requirement: Extract<RouteRequirement, { kind: 'permissions' }>;
  /** The resource the request reaches, lower-cased; `owner` null means the route names none (token_owner binding). */
  readonly resource: RequestResource;
  /** Held by every token, as GitHub grants `metadata:read` to every fine-grained token. */
  readonly implicit: PermissionSet;
  readonly hideForbidden: boolean;
  /** Epoch milliseconds. */
  readonly now: number;
  /**
   * Where parsed instants are remembered across calls (the gateway keeps one); without it
   * every call parses the token's instants again, with the same result.
   */
  readonly instants?: InstantMemo;
}

const DAY_MS = 86_400_000;

/** Through the caller's memo when it gave one; a plain parse otherwise (same result). */
function instant(memo: InstantMemo | undefined, text: string): number {
  return memo === undefined ? parseInstant(text) : memo.parse(text);
}

/**
 * Decides whether an identified token may make a request. Pure (the caller's
 * `instants` memo never changes a result); allocates only its result on the allow
 * path, since it runs on every proxied request.
 *
 * Checks run in this order, and the first failure is the answer:
 *  1. lifecycle: revoked, then expired. A dead token is reported as dead
 *     whatever it asks for, so its holder learns the one thing that helps.
 *  2. owner reach: the owner must be the fine-grained token's resource owner,
 *     or for a classic token its user's account or an org the user belongs to.
 *     Before the org rules so that an org's policy is not disclosed to tokens
 *     that have no business there.
 *  3. org rules (registered orgs only): membership, the org's policy on the
 *     token kind; then pending/denied status (for every owner, so no non-active
 *     token is ever allowed); then the org's maximum lifetime.
 *  4. repository: within a fine-grained token's repository list.
 *  5. permissions: any alternative whose permissions are all held, counting
 *     `implicit`. Last, because `X-Accepted-Permissions` is only useful to a
 *     token that could use the resource with more grants.
 */
export function decide(input: DecideInput): Decision {
  const { token, owner } = input.snapshot;
  const { resource, instants } = input;
  const id = token.id;

  // 1. Lifecycle. An unparseable instant counts as expired: fail closed.
  if (token.status === 'revoked') {
    const at = token.revokedAt === undefined ? '' : ` at ${token.revokedAt}`;
    return deny('token_revoked', `token ${id} was revoked${at}${reasonSuffix(token.statusReason)}`, id);
  }
  // A replaced secret in its grace period: judged from the record, so every instance
  // refuses it at the same instant whatever its cache holds.
  if (token.graceUntil !== undefined && !(instant(instants, token.graceUntil) > input.now)) {
    return deny(
      'token_revoked',
      `this secret of token ${id} was replaced; its grace period ended at ${token.graceUntil}`,
      id,
    );
  }
  const expiresAt = instant(instants, token.expiresAt);
  if (!(expiresAt > input.now)) {
    return deny('token_expired', `token expired at ${token.expiresAt}`, id);
  }

  // 2. Owner reach.
  const outOfSet: DenyReason = input.hideForbidden ? 'resource_hidden' : 'resource_forbidden';
  const org = owner.org;
  let ownerName: string;
  if (token.kind === 'fine_grained') {
    ownerName = token.resourceOwner;
    if (resource.owner !== null && !sameName(resource.owner, token.resourceOwner)) {
      return deny(
        outOfSet,
        `${resource.owner} is not the resource owner of token ${id} (${token.resourceOwner})`,
        id,
      );
    }
  } else {
    ownerName = resource.owner ?? token.user;
    const ownAccount = resource.owner === null || sameName(resource.owner, token.user);
    // A classic token reaches orgs through membership; an org the user is not in
    // is indistinguishable from one the user never joined, so it is out of set.
    if (!ownAccount && (org === null || org.role === null)) {
      return deny(outOfSet, `${ownerName} is not reachable by user ${token.user} of token ${id}`, id);
    }
  }

  // 3. Org rules, then status.
  if (org !== null) {
    if (org.role === null) {
      return deny('not_member', `user ${token.user} is not a member of organization ${ownerName}`, id);
    }
    if (token.kind === 'classic' && org.policy.classicTokens === 'blocked') {
      return deny('classic_blocked', `organization ${ownerName} blocks classic tokens`, id);
    }
    if (token.kind === 'fine_grained' && org.policy.fineGrainedTokens === 'blocked') {
      return deny('fine_grained_blocked', `organization ${ownerName} blocks fine-grained tokens`, id);
    }
  }
  if (token.status === 'pending') {
    const by = org === null ? '' : ` by organization ${ownerName}`;
    return deny('token_pending', `token ${id} is waiting for approval${by}`, id);
  }
  if (token.status === 'denied') {
    const by = org === null ? '' : ` by organization ${ownerName}`;
    return deny('token_denied', `token ${id} was denied${by}${reasonSuffix(token.statusReason)}`, id);
  }
  const maxDays = org?.policy.maxLifetimeDays ?? null;
  if (maxDays !== null) {
    // A regenerated token's lifetime starts again at regeneration.
    const lifetime = expiresAt - instant(instants, token.regeneratedAt ?? token.createdAt);
    // Written as !(<=) so that an unparseable createdAt (NaN) is refused.
    if (!(lifetime <= maxDays * DAY_MS)) {
      const days = Number.isFinite(lifetime) ? `${Math.ceil(lifetime / DAY_MS)} days` : 'an unknown time';
      return deny(
        'lifetime_exceeds_policy',
        `token ${id} lives ${days}; organization ${ownerName} allows at most ${maxDays} days`,
        id,
      );
    }
  }

  // 4. Repository.
  if (
    token.kind === 'fine_grained' &&
    resource.repo !== null &&
    token.repositories !== 'all' &&
    !includesName(token.repositories, resource.repo)
  ) {
    return deny(
      outOfSet,
      `repository ${ownerName}/${resource.repo} is not among token ${id}'s repositories`,
      id,
    );
  }

  // 5. Permissions.
  const classicRank = token.kind === 'classic' ? maxScopeRank(token.scopes) : 0;
  const alternatives = input.requirement.alternatives;
  for (let a = 0; a < alternatives.length; a++) {
    const set = alternatives[a];
    if (set !== undefined && holdsAll(token, classicRank, input.implicit, set)) {
      return { kind: 'allow', token };
    }
  }
  return {
    kind: 'deny',
    reason: 'permission_missing',
    detail: `token ${id} lacks ${describeMissing(token, classicRank, input.implicit, alternatives)}`,
    requiredPermissions: alternatives,
    tokenId: id,
  };
}

function deny(reason: DenyReason, detail: string, tokenId: string): Decision {
  return { kind: 'deny', reason, detail, tokenId };
}

function reasonSuffix(reason: string | undefined): string {
  return reason === undefined || reason === '' ? '' : `: ${reason}`;
}

/** ASCII case-insensitive equality against an already lower-cased name, without allocating. */
function sameName(lower: string, name: string): boolean {
  if (lower.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function includesName(names: readonly string[], lower: string): boolean {
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name !== undefined && sameName(lower, name)) return true;
  }
  return false;
}

/** A classic scope applies its level to every feature; the broadest scope counts. */
function maxScopeRank(scopes: readonly ClassicScope[]): number {
  let rank = 0;
  for (let i = 0; i < scopes.length; i++) {
    const scope = scopes[i];
    if (scope !== undefined) rank = Math.max(rank, levelRank(scope));
  }
  return rank;
}

function heldImplicitly(implicit: PermissionSet, p: Permission): boolean {
  for (let i = 0; i < implicit.length; i++) {
    const q = implicit[i];
    if (q !== undefined && q.feature === p.feature && levelRank(q.level) >= levelRank(p.level)) return true;
  }
  return false;
}

function held(token: TokenRecord, classicRank: number, implicit: PermissionSet, p: Permission): boolean {
  const explicit =
    token.kind === 'fine_grained' ? holds(token.permissions, p) : classicRank >= levelRank(p.level);
  return explicit || heldImplicitly(implicit, p);
}

function holdsAll(
  token: TokenRecord,
  classicRank: number,
  implicit: PermissionSet,
  set: PermissionSet,
): boolean {
  // An empty set would grant everything; a route needing nothing is `public`, so refuse it.
  if (set.length === 0) return false;
  for (let i = 0; i < set.length; i++) {
    const p = set[i];
    if (p === undefined || !held(token, classicRank, implicit, p)) return false;
  }
  return true;
}

/** e.g. `pull_requests:read and contents:read, or issues:read`: what each alternative misses. */
function describeMissing(
  token: TokenRecord,
  classicRank: number,
  implicit: PermissionSet,
  alternatives: readonly PermissionSet[],
): string {
  const parts = alternatives.map((set) => {
    const missing = set.filter((p) => !held(token, classicRank, implicit, p)).map(formatPermission);
    return missing.length === 0 ? '(an empty permission set)' : missing.join(' and ');
  });
  return parts.length === 0 ? 'any permission (the route lists none)' : parts.join(', or ');
}
