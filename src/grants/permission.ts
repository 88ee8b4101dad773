import { type Level, levelRank, type Permission, type PermissionAlternatives } from '../config/permission.js';

// The vocabulary moved down to config/ (the schema speaks it too); re-exported so that
// the grant model keeps one import for everything about permissions.
export {
  formatPermission,
  LEVELS,
  type Level,
  levelRank,
  type ParsedPermission,
  type Permission,
  type PermissionAlternatives,
  type PermissionSet,
  parsePermission,
} from '../config/permission.js';

/** A grant map: feature -> the highest level held for it. */
export type GrantMap = Readonly<Record<string, Level>>;

/** True when `grants` holds `p` at its level or above. */
export function holds(grants: GrantMap, p: Permission): boolean {
  const held = grants[p.feature];
  return held !== undefined && levelRank(held) >= levelRank(p.level);
}

/**
 * GitHub's `X-Accepted-GitHub-Permissions` syntax: `,` joins permissions needed
 * together, `; ` separates alternatives. e.g. `pull_requests=read,contents=read; issues=read`.
 */
export function formatAcceptedPermissions(alternatives: PermissionAlternatives): string {
  return alternatives.map((set) => set.map((p) => `${p.feature}=${p.level}`).join(',')).join('; ');
}
