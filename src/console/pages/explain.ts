import { answerFor } from '../../gateway/refusal.js';
import { decide } from '../../grants/decide.js';
import type { Decision } from '../../grants/decision.js';
import type { MemberRole, OrgPolicy } from '../../grants/owner.js';
import { resolveResource } from '../../grants/resource.js';
import type { TokenRecord } from '../../grants/token-record.js';
import { checkTarget } from '../../request/target.js';
import { describeRequirement } from '../../routes/describe.js';
import type { RouteRule } from '../../routes/types.js';
import { ownerState } from '../../store/owner-state.js';
import type { RouteMap } from './deps.js';

/** What `METHOD target` needs, as `patgate routes explain` says it. */
export type Explanation =
  | { readonly kind: 'refused'; readonly status: 400; readonly detail: string }
  | { readonly kind: 'no_route'; readonly path: string }
  | {
      readonly kind: 'route';
      readonly path: string;
      readonly rule: RouteRule;
      readonly needs: string;
      readonly params: Readonly<Record<string, string>>;
      /** The owner the permission is checked on; null for the token's own owner (or a public route). */
      readonly owner: string | null;
      readonly repo: string | null;
    };

export function explainRequest(map: RouteMap, method: string, target: string): Explanation {
  const checked = checkTarget(target);
  if (!checked.ok) return { kind: 'refused', status: 400, detail: `${checked.reason}: ${checked.detail}` };
  const match = map.matcher.match(method.toUpperCase(), checked.path);
  if (match === null) return { kind: 'no_route', path: checked.path };
  const { rule, params } = match;
  const resource =
    rule.requirement.kind === 'permissions' ? resolveResource(rule.requirement.resource, params) : null;
  return {
    kind: 'route',
    path: checked.path,
    rule,
    needs: describeRequirement(rule),
    params,
    owner: resource?.owner ?? null,
    repo: resource?.repo ?? null,
  };
}

/** What the owner's org state says about the token's holder, as the stores build it. */
export interface OwnerFacts {
  readonly policy: OrgPolicy | null;
  readonly members: ReadonlyMap<string, MemberRole>;
}

/** Whether `token` would pass the explained request now, and how the gateway would answer. */
export interface Verdict {
  readonly allowed: boolean;
  readonly status: number;
  readonly reason: string;
  readonly detail: string;
}

/** The owner whose org state decides a request: the route's, or else the token's own. */
export function ownerToCheck(explained: Extract<Explanation, { kind: 'route' }>, token: TokenRecord): string {
  return explained.owner ?? (token.kind === 'fine_grained' ? token.resourceOwner : token.user);
}

/**
 * The gateway's own `decide`, on the stored token and its owner's state, so the answer
 * is the one a real request would get (less the store being down).
 */
export function wouldPass(
  map: RouteMap,
  explained: Extract<Explanation, { kind: 'route' }>,
  token: TokenRecord,
  owner: OwnerFacts,
  now: number,
): Verdict {
  const { requirement } = explained.rule;
  if (requirement.kind === 'public')
    return { allowed: true, status: 200, reason: 'public', detail: 'public route: no token needed' };
  const registered = owner.policy !== null || owner.members.size > 0;
  const decision: Decision = decide({
    snapshot: { token, owner: ownerState(registered, owner.policy, owner.members.get(token.user) ?? null) },
    requirement,
    resource: { owner: explained.owner, repo: explained.repo },
    implicit: map.implicit,
    hideForbidden: map.hideForbidden,
    now,
  });
  if (decision.kind === 'allow')
    return { allowed: true, status: 200, reason: 'granted', detail: 'forwarded to the upstream' };
  const answer = answerFor(decision);
  return { allowed: false, status: answer.problem.status, reason: decision.reason, detail: decision.detail };
}
