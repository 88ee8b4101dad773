import { LEVELS, type Level, levelRank, parsePermission } from '../config/permission.js';
import type { RouteConfig } from '../config/schema.js';
import { compileRoutes } from '../routes/compile.js';
import { lintRoutes } from '../routes/lint.js';
import type { PatternSegment } from '../routes/pattern.js';
import { bindResource } from '../routes/resource-binding.js';
import type { RouteMatcher } from '../routes/types.js';
import { type ConvertedPath, samplePath, shapeKey } from './convert-path.js';
import { globMatches, type RequirementSpec } from './map-operation.js';
import { type OpenApiOperation, operationLabel } from './openapi-operations.js';
import type { ImportRules } from './rules-schema.js';

export interface ImportedRoute {
  readonly route: RouteConfig;
  /** operationIds (or `METHOD /path` when an operation has none) the route serves. */
  readonly operations: readonly string[];
  /** Where the requirement came from, e.g. `rules.map[4]` or `x-patgate-permission`. */
  readonly source: string;
  /** What the import changed or decided, for a comment beside the route. */
  readonly notes: readonly string[];
  /**
   * Owners or repositories its operations take outside the path (query, body), which the
   * gateway does not check: e.g. `query "q" (a search query: ...)`. Empty for public routes.
   */
  readonly outsidePath: readonly string[];
}

export interface UnmappedOperation {
  readonly label: string;
  readonly reason: string;
  /** A route that still matches this operation's requests, if any. */
  readonly reachableVia: string | undefined;
}

export interface ImportConflict {
  /** `merged`: same requirement; `combined`: every permission of both; `unresolved`: left unmapped. */
  readonly resolution: 'merged' | 'combined' | 'unresolved';
  readonly message: string;
}

/** One operation on its way to a route: what it needs, on which resource, and why. */
export interface RouteCandidate {
  readonly op: OpenApiOperation;
  readonly converted: ConvertedPath;
  readonly requirement: RequirementSpec;
  /** In pattern parameter names; undefined when the compiler infers it. */
  readonly resource: RouteConfig['resource'];
  /** Pattern parameter names the upstream checks itself (`upstream_checks`). */
  readonly upstreamChecks: readonly string[];
  readonly source: string;
  readonly outsidePath: readonly string[];
  /** Notes of the importer's own, beside those of the path conversion. */
  readonly notes: readonly string[];
}

/** An operation that gets no route of its own. */
export interface PendingUnmapped {
  readonly op: OpenApiOperation;
  readonly converted: ConvertedPath | undefined;
  readonly reason: string;
}

export interface AssembleInput {
  readonly candidates: readonly RouteCandidate[];
  readonly unmapped: readonly PendingUnmapped[];
  readonly rules: ImportRules;
  readonly implicit: readonly string[];
  /** Errors found so far; any of them, or any found here, fails the import. */
  readonly errors: readonly string[];
  /** Warnings found so far; the assembled ones follow. */
  readonly warnings: readonly string[];
}

export interface AssembledRoutes {
  readonly routes: readonly ImportedRoute[];
  readonly features: Readonly<Record<string, readonly Level[]>>;
  readonly unmapped: readonly UnmappedOperation[];
  readonly conflicts: readonly ImportConflict[];
  readonly warnings: readonly string[];
  /** The compiled map, for checks of the caller's own (the table import measures agreement). */
  readonly matcher: RouteMatcher;
}

export type AssembleResult = { ok: true; assembled: AssembledRoutes } | { ok: false; errors: string[] };

export function opName(op: OpenApiOperation): string {
  return op.operationId ?? `${op.method} ${op.path}`;
}

/** The key under which operations that match the same requests meet. */
export function groupKey(op: OpenApiOperation, converted: ConvertedPath): string {
  return `${op.method} ${shapeKey(converted.segments)}`;
}

/** Keeps, per feature, the highest level asked for, in first-seen order. */
export function normalizeSet(texts: readonly string[]): string[] {
  const byFeature = new Map<string, Level>();
  const unparsed: string[] = [];
  for (const text of texts) {
    const parsed = parsePermission(text);
    if (!parsed.ok) {
      if (!unparsed.includes(text)) unparsed.push(text);
      continue;
    }
    const { feature, level } = parsed.permission;
    const held = byFeature.get(feature);
    if (held === undefined || levelRank(level) > levelRank(held)) byFeature.set(feature, level);
  }
  return [...[...byFeature].map(([f, l]) => `${f}:${l}`), ...unparsed];
}

/** A requirement met exactly when both are: every pair of alternatives, joined. */
function conjoin(a: RequirementSpec, b: RequirementSpec): RequirementSpec {
  if (a.kind === 'public') return b;
  if (b.kind === 'public') return a;
  const seen = new Set<string>();
  const anyOf: string[][] = [];
  for (const x of a.anyOf) {
    for (const y of b.anyOf) {
      const set = normalizeSet([...x, ...y]);
      const key = [...set].sort().join(',');
      if (!seen.has(key)) {
        seen.add(key);
        anyOf.push(set);
      }
    }
  }
  return { kind: 'permissions', anyOf };
}

function toRouteConfig(
  pattern: string,
  requirement: RequirementSpec,
  resource: RouteConfig['resource'],
  upstreamChecks: readonly string[],
): RouteConfig {
  if (requirement.kind === 'public') return { route: pattern, public: true };
  const [only, ...others] = requirement.anyOf;
  const base: RouteConfig =
    only !== undefined && others.length === 0
      ? { route: pattern, permission: only.length === 1 ? (only[0] ?? '') : [...only] }
      : { route: pattern, any_of: requirement.anyOf.map((set) => [...set]) };
  const withResource = resource === undefined ? base : { ...base, resource };
  return upstreamChecks.length === 0
    ? withResource
    : { ...withResource, upstream_checks: [...upstreamChecks] };
}

/** Which positions a route binds as owner and repository, independent of parameter names. */
function bindingKey(segments: readonly PatternSegment[], resource: RouteConfig['resource']): string {
  const bound = bindResource(resource, segments);
  if (!bound.ok) return `error:${bound.error}`;
  const position = (name: string) => segments.findIndex((s) => s.kind !== 'literal' && s.name === name);
  const b = bound.binding;
  if (b.kind === 'repository') return `repository:${position(b.ownerParam)}/${position(b.repoParam)}`;
  if (b.kind === 'owner') return `owner:${position(b.ownerParam)}`;
  return 'token_owner';
}

/** OpenAPI parameter name -> pattern name, or null (with an error) when the path lacks it. */
function renamer(op: OpenApiOperation, converted: ConvertedPath, errors: string[]) {
  return (name: string, field: string): string | null => {
    const renamed = converted.params.get(name);
    if (renamed === undefined) {
      errors.push(`${operationLabel(op)}: ${field} names "${name}", which is not a parameter of the path`);
      return null;
    }
    return renamed;
  };
}

/** The route's `resource:` in pattern names; undefined when the compiler infers it; null on error. */
export function resolveResource(
  op: OpenApiOperation,
  converted: ConvertedPath,
  explicit: { owner: string; repo?: string | undefined } | undefined,
  rules: ImportRules,
  errors: string[],
): RouteConfig['resource'] | null {
  const rename = renamer(op, converted, errors);
  let wanted = explicit;
  let field = 'x-patgate-resource';
  if (wanted === undefined) {
    const inferred = bindResource(undefined, converted.segments);
    if (!inferred.ok || inferred.binding.kind !== 'token_owner') return undefined;
    const index = rules.resources.findIndex((r) =>
      (Array.isArray(r.path) ? r.path : [r.path]).some((glob) => globMatches(glob, op.path)),
    );
    const rule = rules.resources[index];
    if (rule === undefined) return undefined;
    wanted = rule;
    field = `rules.resources[${index}]`;
  }
  const owner = rename(wanted.owner, `${field}.owner`);
  if (owner === null) return null;
  if (wanted.repo === undefined) return { owner };
  const repo = rename(wanted.repo, `${field}.repo`);
  return repo === null ? null : { owner, repo };
}

/**
 * The parameters the first matching `rules.upstream_checks` entry says the upstream checks
 * itself, in pattern names, with a note for the YAML; null when the entry names a
 * parameter the path lacks (an error).
 */
export function resolveUpstreamChecks(
  op: OpenApiOperation,
  converted: ConvertedPath,
  rules: ImportRules,
  errors: string[],
): { names: string[]; note: string | undefined } | null {
  const index = rules.upstream_checks.findIndex((r) =>
    (Array.isArray(r.path) ? r.path : [r.path]).some((glob) => globMatches(glob, op.path)),
  );
  const rule = rules.upstream_checks[index];
  if (rule === undefined) return { names: [], note: undefined };
  const rename = renamer(op, converted, errors);
  const names: string[] = [];
  for (const param of rule.params) {
    const renamed = rename(param, `rules.upstream_checks[${index}].params`);
    if (renamed === null) return null;
    if (!names.includes(renamed)) names.push(renamed);
  }
  const braces = names.map((n) => `{${n}}`).join(', ');
  return { names, note: `the upstream checks ${braces} itself: ${rule.why}` };
}

type GroupResult = { kind: 'route'; route: ImportedRoute } | { kind: 'unmapped'; reason: string };

/** A member's acknowledged parameters, renamed to those of the route's pattern by position. */
function checksIn(first: RouteCandidate, member: RouteCandidate): string[] {
  return member.upstreamChecks.flatMap((name) => {
    const at = member.converted.segments.findIndex((s) => s.kind !== 'literal' && s.name === name);
    const target = first.converted.segments[at];
    return target === undefined || target.kind === 'literal' ? [] : [target.name];
  });
}

function resolveGroup(group: readonly RouteCandidate[], conflicts: ImportConflict[]): GroupResult {
  // Deterministic whatever the document order: the first by path, then operationId, names the route.
  const members = [...group].sort((a, b) =>
    a.op.path < b.op.path ? -1 : a.op.path > b.op.path ? 1 : opName(a.op) < opName(b.op) ? -1 : 1,
  );
  const first = members[0];
  if (first === undefined) return { kind: 'unmapped', reason: 'empty group' };
  const pattern = `${first.op.method} ${first.converted.path}`;
  const notes = [...first.converted.notes, ...first.notes];
  const operations = members.map((c) => opName(c.op));
  const outsidePath = [...new Set(members.flatMap((c) => c.outsidePath))];
  if (outsidePath.length > 0) notes.push(outsideNote(outsidePath));
  // Acknowledged by every member: one member's upstream checking a parameter says nothing of another's.
  const upstreamChecks = checksIn(first, first).filter((name) =>
    members.every((c) => checksIn(first, c).includes(name)),
  );
  if (members.length === 1) {
    return {
      kind: 'route',
      route: {
        route: toRouteConfig(pattern, first.requirement, first.resource, upstreamChecks),
        operations,
        source: first.source,
        notes,
        outsidePath,
      },
    };
  }

  const listed = members.map((c) => `${c.op.method} ${c.op.path} (${opName(c.op)})`).join(' and ');
  const bindings = new Set(members.map((c) => bindingKey(c.converted.segments, c.resource)));
  if (bindings.size > 1) {
    const message = `${listed} match the same requests but name different resources; all left unmapped`;
    conflicts.push({ resolution: 'unresolved', message });
    return { kind: 'unmapped', reason: `conflict: ${message}` };
  }
  const same = members.every((c) => JSON.stringify(c.requirement) === JSON.stringify(first.requirement));
  let requirement = first.requirement;
  if (!same) for (const c of members.slice(1)) requirement = conjoin(requirement, c.requirement);
  const resolution = same ? 'merged' : 'combined';
  conflicts.push({
    resolution,
    message: same
      ? `${listed} match the same requests: one route "${pattern}" (same permissions)`
      : `${listed} match the same requests with different permissions: one route "${pattern}" requiring what each of them requires`,
  });
  notes.push(
    same
      ? `also serves ${operations.slice(1).join(', ')} (same requests, same permissions)`
      : `also serves ${operations.slice(1).join(', ')} (same requests): requires what each of them requires`,
  );
  return {
    kind: 'route',
    route: {
      route: toRouteConfig(pattern, requirement, first.resource, upstreamChecks),
      operations,
      source: [...new Set(members.map((c) => c.source))].join(' + '),
      notes,
      outsidePath,
    },
  };
}

/** The comment and warning for the class "resources outside the path" (docs/routes.md). */
function outsideNote(outsidePath: readonly string[]): string {
  const them = outsidePath.length === 1 ? 'it' : 'them';
  return `resources outside the path: ${outsidePath.join(', ')}; the upstream must check ${them}`;
}

function routePermissionTexts(route: RouteConfig): string[] {
  if (route.any_of !== undefined) return route.any_of.flat();
  if (typeof route.permission === 'string') return [route.permission];
  return route.permission ?? [];
}

/**
 * The catalogue: features declared in the rules keep their levels (which must cover
 * every use); any other feature gets every level from read up to the highest used,
 * so that a read-only token can be granted wherever writes are mapped.
 */
function deriveFeatures(
  routes: readonly ImportedRoute[],
  rules: ImportRules,
  implicit: readonly string[],
  errors: string[],
): Record<string, Level[]> {
  const highest = new Map<string, Level>();
  const use = (text: string, where: string): void => {
    const parsed = parsePermission(text);
    if (!parsed.ok) {
      errors.push(`${where}: ${parsed.error}`);
      return;
    }
    const { feature, level } = parsed.permission;
    const declared = Object.hasOwn(rules.features, feature) ? rules.features[feature] : undefined;
    if (declared !== undefined && !declared.includes(level)) {
      errors.push(
        `${where}: needs ${text}, but rules.features.${feature} declares only [${declared.join(', ')}]`,
      );
    }
    const held = highest.get(feature);
    if (held === undefined || levelRank(level) > levelRank(held)) highest.set(feature, level);
  };
  for (const r of routes)
    for (const text of routePermissionTexts(r.route)) use(text, `route "${r.route.route}"`);
  implicit.forEach((text, i) => {
    use(text, `rules.implicit[${i}]`);
  });

  const features: Record<string, Level[]> = {};
  const names = new Set([...Object.keys(rules.features), ...highest.keys()]);
  for (const name of [...names].sort()) {
    const declared = Object.hasOwn(rules.features, name) ? rules.features[name] : undefined;
    const top = highest.get(name) ?? 'read';
    features[name] =
      declared !== undefined ? [...declared] : LEVELS.filter((l) => levelRank(l) <= levelRank(top));
  }
  return features;
}

/**
 * Turns candidates into a route map, the part every importer shares. Candidates whose
 * patterns match the same requests (same method and shape, e.g. paths that differ only
 * in parameter names) are one route: merged when they need the same, otherwise combined
 * so that a request needs what every one of them needs (the gateway cannot tell them
 * apart, so it fails closed). When they bind different resources nothing safe can be
 * written, so all are left unmapped. The map is then compiled and linted, and each
 * unmapped operation probed for a route that still matches its requests.
 */
export function assembleRoutes(input: AssembleInput): AssembleResult {
  const errors = [...input.errors];
  const warnings = [...input.warnings];
  const unmappedOps = [...input.unmapped];

  const groups = new Map<string, RouteCandidate[]>();
  for (const c of input.candidates) {
    const key = groupKey(c.op, c.converted);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [c]);
    else group.push(c);
  }
  const conflicts: ImportConflict[] = [];
  const routes: ImportedRoute[] = [];
  for (const group of groups.values()) {
    const resolved = resolveGroup(group, conflicts);
    if (resolved.kind === 'unmapped') {
      for (const c of group) unmappedOps.push({ op: c.op, converted: c.converted, reason: resolved.reason });
    } else routes.push(resolved.route);
  }

  const features = deriveFeatures(routes, input.rules, input.implicit, errors);
  if (errors.length > 0) return { ok: false, errors };

  // The body limit plays no part in an import: the map is written out, not served.
  const compiled = compileRoutes({
    routes: routes.map((r) => r.route),
    features,
    implicit: input.implicit,
    defaultMaxBodyBytes: 0,
  });
  if (!compiled.ok) {
    return {
      ok: false,
      errors: compiled.errors.map((e) => (e.index < 0 ? e.message : `route "${e.pattern}": ${e.message}`)),
    };
  }
  for (const w of lintRoutes({ matcher: compiled.matcher, features })) {
    warnings.push(w.index < 0 ? `${w.pattern}: ${w.message}` : `route "${w.pattern}": ${w.message}`);
    // Marked in the YAML too, beside the route, where a reviewer reads it.
    const route = routes[w.index];
    if (w.kind === 'unbound_resource' && route !== undefined) {
      routes[w.index] = { ...route, notes: [...route.notes, w.message] };
    }
  }
  for (const r of routes) {
    if (r.outsidePath.length > 0) {
      warnings.push(
        `route "${r.route.route}": ${outsideNote(r.outsidePath)}; the gateway checks only the path's resource`,
      );
    }
  }

  // A value no literal equals, so the probe reaches only what a generic request would.
  const probe = '~patgate-import~';
  const unmapped: UnmappedOperation[] = unmappedOps.map(({ op, converted, reason }) => {
    const match =
      converted === undefined
        ? null
        : compiled.matcher.match(op.method, samplePath(converted.segments, probe));
    const reachableVia = match?.rule.pattern;
    if (reachableVia !== undefined) {
      warnings.push(`unmapped ${operationLabel(op)} is still matched by route "${reachableVia}"`);
    }
    return { label: operationLabel(op), reason, reachableVia };
  });

  return {
    ok: true,
    assembled: { routes, features, unmapped, conflicts, warnings, matcher: compiled.matcher },
  };
}
