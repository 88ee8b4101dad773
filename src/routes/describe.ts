import { formatPermission, type PermissionSet } from '../config/permission.js';
import type { ResourceBinding, RouteRule } from './types.js';

function describeResource(resource: ResourceBinding): string {
  switch (resource.kind) {
    case 'repository':
      return `on repository {${resource.ownerParam}}/{${resource.repoParam}}`;
    case 'owner':
      return `on owner {${resource.ownerParam}}`;
    case 'token_owner':
      return "on the token's resource owner";
  }
}

function describeSet(set: PermissionSet): string {
  return set.map(formatPermission).join(' and ');
}

/**
 * One line for `patgate routes explain`, e.g.
 * `requires contents:read on repository {owner}/{repo}`, or
 * `any of: (pull_requests:read and contents:read) or (issues:read and contents:read) on repository {owner}/{repo}`.
 */
export function describeRequirement(rule: RouteRule): string {
  const requirement = rule.requirement;
  if (requirement.kind === 'public') return 'public (no token)';
  const resource = describeResource(requirement.resource);
  const [only, ...others] = requirement.alternatives;
  if (only !== undefined && others.length === 0) return `requires ${describeSet(only)} ${resource}`;
  const alternatives = requirement.alternatives.map((set) =>
    set.length > 1 ? `(${describeSet(set)})` : describeSet(set),
  );
  return `any of: ${alternatives.join(' or ')} ${resource}`;
}
