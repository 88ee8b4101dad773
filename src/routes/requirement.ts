import type { Permission, PermissionAlternatives } from '../config/permission.js';
import type { RouteConfig } from '../config/schema.js';
import type { PatternSegment } from './pattern.js';
import { type FeatureCatalogue, resolvePermission } from './resolve-permission.js';
import { bindResource } from './resource-binding.js';
import type { RouteRequirement } from './types.js';

export type RequirementResult = { ok: true; requirement: RouteRequirement } | { ok: false; errors: string[] };

/** The permission texts of a route as alternatives (OR) of sets (AND), each with its config path. */
function alternativeTexts(route: RouteConfig): { field: string; text: string }[][] {
  if (route.any_of !== undefined) {
    return route.any_of.map((set, i) => set.map((text, j) => ({ field: `any_of[${i}][${j}]`, text })));
  }
  if (typeof route.permission === 'string') return [[{ field: 'permission', text: route.permission }]];
  if (route.permission !== undefined) {
    return [route.permission.map((text, j) => ({ field: `permission[${j}]`, text }))];
  }
  return [];
}

/**
 * What a route requires. `segments` is undefined when the pattern did not parse:
 * the permissions are still checked so that every error is reported at once.
 */
export function buildRequirement(
  route: RouteConfig,
  segments: readonly PatternSegment[] | undefined,
  features: FeatureCatalogue,
): RequirementResult {
  const kinds = [route.permission !== undefined, route.any_of !== undefined, route.public === true];
  if (kinds.filter(Boolean).length !== 1) {
    return { ok: false, errors: ['a route needs exactly one of "permission", "any_of" or "public: true"'] };
  }
  if (route.public === true) {
    if (route.resource !== undefined) return { ok: false, errors: ['a public route names no resource'] };
    return { ok: true, requirement: { kind: 'public' } };
  }

  const errors: string[] = [];
  const texts = alternativeTexts(route);
  // The schema refuses empty lists; checked again because an empty AND would
  // require nothing, and an empty OR would be unsatisfiable by accident.
  if (texts.length === 0 || texts.some((set) => set.length === 0)) {
    errors.push('empty permission list');
  }
  const alternatives: Permission[][] = texts.map((set) =>
    set.flatMap(({ field, text }) => {
      const resolved = resolvePermission(text, features);
      if (resolved.ok) return [resolved.permission];
      errors.push(`${field}: ${resolved.error}`);
      return [];
    }),
  );

  if (segments !== undefined) {
    const bound = bindResource(route.resource, segments);
    if (!bound.ok) errors.push(bound.error);
    else if (errors.length === 0) {
      const resolved: PermissionAlternatives = alternatives;
      return {
        ok: true,
        requirement: { kind: 'permissions', alternatives: resolved, resource: bound.binding },
      };
    }
  }
  return { ok: false, errors };
}
