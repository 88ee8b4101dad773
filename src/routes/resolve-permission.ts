import { type Level, type ParsedPermission, parsePermission } from '../config/permission.js';

/** The permission catalogue from the config: feature -> levels it supports. */
export type FeatureCatalogue = Readonly<Record<string, readonly Level[]>>;

/**
 * Parses `feature:level` and checks it against the catalogue, so a typo in the
 * config stops startup instead of becoming a permission nobody can ever hold.
 */
export function resolvePermission(text: string, features: FeatureCatalogue): ParsedPermission {
  const parsed = parsePermission(text);
  if (!parsed.ok) return parsed;
  const { feature, level } = parsed.permission;
  // Own properties only: `constructor:read` must not find Object.prototype.constructor.
  const levels = Object.hasOwn(features, feature) ? features[feature] : undefined;
  if (levels === undefined) return { ok: false, error: `unknown feature "${feature}"` };
  if (!levels.includes(level)) {
    return {
      ok: false,
      error: `feature "${feature}" has no level "${level}" (declared: ${levels.join(', ')})`,
    };
  }
  return parsed;
}
