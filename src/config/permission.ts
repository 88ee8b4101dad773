/**
 * The permission vocabulary the config is written in (`feature:level`). It lives in
 * `config/`, the lowest layer that speaks it, so that the schema, the route compiler
 * and the grant model all import it downwards.
 */

/** Permission levels, ordered: a grant of a higher level satisfies a lower one. */
export const LEVELS = ['read', 'write', 'admin'] as const;
export type Level = (typeof LEVELS)[number];

const LEVEL_RANK: Readonly<Record<Level, number>> = { read: 1, write: 2, admin: 3 };

export function levelRank(level: Level): number {
  return LEVEL_RANK[level];
}

function isLevel(value: string): value is Level {
  return value === 'read' || value === 'write' || value === 'admin';
}

/** `feature:level`, e.g. `issues:write`. */
export interface Permission {
  readonly feature: string;
  readonly level: Level;
}

/** Permissions needed together (AND). */
export type PermissionSet = readonly Permission[];

/**
 * What a route requires: any one of the alternatives (OR), each a set needed
 * together (AND). Never empty; a single permission is `[[p]]`.
 */
export type PermissionAlternatives = readonly PermissionSet[];

export type ParsedPermission = { ok: true; permission: Permission } | { ok: false; error: string };

export function parsePermission(text: string): ParsedPermission {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon !== text.lastIndexOf(':')) {
    return { ok: false, error: `"${text}" is not of the form feature:level` };
  }
  const feature = text.slice(0, colon);
  const level = text.slice(colon + 1);
  if (!/^[a-z][a-z0-9_]*$/.test(feature)) {
    return { ok: false, error: `"${feature}" is not a valid feature name (lowercase letters, digits, _)` };
  }
  if (!isLevel(level)) {
    return { ok: false, error: `"${level}" is not a level (read, write, admin)` };
  }
  return { ok: true, permission: { feature, level } };
}

export function formatPermission(p: Permission): string {
  return `${p.feature}:${p.level}`;
}
