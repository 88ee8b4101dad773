import type { RouteConfig } from '../config/schema.js';
import type { PatternSegment } from './pattern.js';
import type { ResourceBinding } from './types.js';

export type BindingResult = { ok: true; binding: ResourceBinding } | { ok: false; error: string };

type ParamKind = 'param' | 'catch_all';

function paramKinds(segments: readonly PatternSegment[]): Map<string, ParamKind> {
  const kinds = new Map<string, ParamKind>();
  for (const s of segments) {
    if (s.kind !== 'literal') kinds.set(s.name, s.kind);
  }
  return kinds;
}

/** Why `name` cannot name an owner or repository, or undefined when it can. */
function singleSegmentProblem(
  kinds: Map<string, ParamKind>,
  name: string,
  field: string,
): string | undefined {
  const kind = kinds.get(name);
  if (kind === undefined) return `${field} names "${name}", which is not a parameter of the pattern`;
  // A catch-all spans segments, so `acme/x` could be read as an owner by one side
  // and as a path by the other; owners and repositories are exactly one segment.
  if (kind === 'catch_all')
    return `${field}: "{${name}+}" is a catch-all; an owner or repository is one segment`;
  return undefined;
}

/**
 * Which resource a route is about. Explicit `resource:` wins; otherwise
 * `{owner}`+`{repo}` is a repository, `{org}` (or `{owner}` alone) an owner, and a
 * route naming neither is checked against the token's own resource owner.
 */
export function bindResource(
  resource: RouteConfig['resource'],
  segments: readonly PatternSegment[],
): BindingResult {
  const kinds = paramKinds(segments);
  if (resource !== undefined) {
    const ownerProblem = singleSegmentProblem(kinds, resource.owner, 'resource.owner');
    if (ownerProblem !== undefined) return { ok: false, error: ownerProblem };
    if (resource.repo === undefined)
      return { ok: true, binding: { kind: 'owner', ownerParam: resource.owner } };
    const repoProblem = singleSegmentProblem(kinds, resource.repo, 'resource.repo');
    if (repoProblem !== undefined) return { ok: false, error: repoProblem };
    if (resource.repo === resource.owner) {
      return { ok: false, error: 'resource.owner and resource.repo name the same parameter' };
    }
    return {
      ok: true,
      binding: { kind: 'repository', ownerParam: resource.owner, repoParam: resource.repo },
    };
  }

  // A conventional name used as a catch-all is refused rather than skipped: falling
  // back to a broader binding would check the permission on the wrong resource.
  const inferred = (names: readonly string[], binding: ResourceBinding): BindingResult => {
    for (const name of names) {
      if (kinds.get(name) === 'catch_all') {
        return {
          ok: false,
          error: `"{${name}+}" is a catch-all and cannot name a resource; use "{${name}}" or set resource:`,
        };
      }
    }
    return { ok: true, binding };
  };
  if (kinds.has('owner') && kinds.has('repo')) {
    return inferred(['owner', 'repo'], { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' });
  }
  if (kinds.has('org')) return inferred(['org'], { kind: 'owner', ownerParam: 'org' });
  if (kinds.has('owner')) return inferred(['owner'], { kind: 'owner', ownerParam: 'owner' });
  return { ok: true, binding: { kind: 'token_owner' } };
}
