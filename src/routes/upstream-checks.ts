import type { PatternSegment } from './pattern.js';
import type { RouteRequirement } from './types.js';

export type UpstreamChecksResult = { ok: true; names: readonly string[] } | { ok: false; errors: string[] };

/** The parameters a binding makes the gateway check itself. */
function boundParams(requirement: RouteRequirement): string[] {
  if (requirement.kind !== 'permissions') return [];
  const r = requirement.resource;
  if (r.kind === 'repository') return [r.ownerParam, r.repoParam];
  if (r.kind === 'owner') return [r.ownerParam];
  return [];
}

/**
 * Checks a route's `upstream_checks`: each name is a parameter of its pattern, named once,
 * and not one the gateway itself checks as the route's resource (saying both would leave a
 * reader unsure who checks it). The acknowledgement is a statement about this route's
 * path, so a name that is not in it is a mistake, not a no-op.
 */
export function checkUpstreamChecks(
  names: readonly string[] | undefined,
  segments: readonly PatternSegment[],
  requirement: RouteRequirement,
): UpstreamChecksResult {
  if (names === undefined) return { ok: true, names: [] };
  if (requirement.kind === 'public') {
    return {
      ok: false,
      errors: ['upstream_checks: a public route checks no token, so it has nothing to leave'],
    };
  }
  const params = new Set(segments.flatMap((s) => (s.kind === 'literal' ? [] : [s.name])));
  const bound = new Set(boundParams(requirement));
  const errors: string[] = [];
  const seen = new Set<string>();
  names.forEach((name, i) => {
    const field = `upstream_checks[${i}]`;
    if (seen.has(name)) errors.push(`${field}: "${name}" is listed twice`);
    else if (!params.has(name)) errors.push(`${field}: "${name}" is not a parameter of the pattern`);
    else if (bound.has(name)) {
      errors.push(`${field}: "{${name}}" is the route's resource, which the gateway checks itself`);
    }
    seen.add(name);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, names: [...names] };
}
