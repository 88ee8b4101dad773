import type { Level } from '../config/permission.js';
import { type PatternSegment, parsePattern } from './pattern.js';
import { collectionKindOf, RESOURCE_KIND_LABEL, resourceKindOf } from './resource-names.js';
import type { RouteMatcher, RouteRule } from './types.js';

export type RouteWarningKind = 'shadowed' | 'unbound_resource' | 'unused_feature';

/** Something in a route map that loads but is probably a mistake. */
export interface RouteWarning {
  readonly kind: RouteWarningKind;
  /** Route index, or -1 for a feature. */
  readonly index: number;
  /** The route pattern, or `features.<name>`. */
  readonly pattern: string;
  readonly line: number | undefined;
  readonly message: string;
}

export interface LintRoutesInput {
  /** A matcher from `compileRoutes`: lint runs on a map that already compiled. */
  readonly matcher: RouteMatcher;
  readonly features: Readonly<Record<string, readonly Level[]>>;
  /** 1-based line of each feature's key in the config, when known. */
  readonly featureLines?: Readonly<Record<string, number | undefined>>;
}

/**
 * Warnings for a compiled route map, in route order (a rule's warnings in the order
 * below) then feature order:
 *
 * - `shadowed`: no request can ever reach the rule, because every request it matches
 *   is taken by other rules that win by precedence. Only a catch-all `{name+}` rule
 *   can be shadowed: a `{name}` position always has values no literal names, and `*`
 *   always has methods no rule names, so such rules always keep some requests.
 * - `unbound_resource` (the class "resources outside the path"): the rule needs
 *   permissions but binds no resource, so they are checked on the token's own resource
 *   owner, while its path takes a parameter that looks like an owner or a repository
 *   (by its name, or by the collection it follows: `/users/{id}`). A token for one owner
 *   could then act on another's unless the upstream checks. Public rules check nothing,
 *   and rules that bind a resource are checked on it, so neither is reported; nor is a
 *   parameter the rule lists in `upstream_checks` (the operator says the upstream checks it).
 * - `unused_feature`: a feature declared in `features` that no route requires
 *   (`implicit` alone does not count: it only matters where a route asks for it).
 */
export function lintRoutes(input: LintRoutesInput): RouteWarning[] {
  const byRoute = [...shadowedRules(input.matcher), ...unboundResources(input.matcher)];
  // Stable: a rule's shadowed warning stays before its unbound_resource one.
  byRoute.sort((a, b) => a.index - b.index);
  return [...byRoute, ...unusedFeatures(input)];
}

interface ParsedRule {
  readonly rule: RouteRule;
  readonly segments: readonly PatternSegment[];
}

/** A value no literal in the map equals, so that only params and catch-alls match it. */
function freshToken(taken: ReadonlySet<string>, base: string): string {
  let candidate = base;
  for (let i = 0; taken.has(candidate); i++) candidate = `${base}${i}`;
  return candidate;
}

/**
 * Why probing is exact: a request segment either equals some literal or is "fresh".
 * Every rule matching the fresh value at a position (a param or catch-all there)
 * also matches any literal value, and which of two rules wins depends only on their
 * shapes and methods, never on the values. So if the all-fresh request of a given
 * depth and method is taken by a better rule, every request of that depth and method
 * is. The method probed is the rule's own (for `*`, a method no rule names): a rule
 * that beats it for GET has a more specific path, so it also beats it for HEAD.
 */
function shadowedRules(matcher: RouteMatcher): RouteWarning[] {
  const parsed: ParsedRule[] = [];
  const literals = new Set<string>();
  const methods = new Set<string>();
  let maxDepth = 0;
  for (const rule of matcher.rules) {
    const result = parsePattern(rule.pattern);
    if (!result.ok) continue;
    parsed.push({ rule, segments: result.pattern.segments });
    methods.add(rule.method);
    maxDepth = Math.max(maxDepth, result.pattern.segments.length);
    for (const s of result.pattern.segments) if (s.kind === 'literal') literals.add(s.value);
  }
  const freshSegment = freshToken(literals, '~patgate-lint~');
  const freshMethod = freshToken(methods, 'PATGATE-LINT');

  const warnings: RouteWarning[] = [];
  for (const { rule, segments } of parsed) {
    const last = segments[segments.length - 1];
    if (last?.kind !== 'catch_all') continue;
    const method = rule.method === '*' ? freshMethod : rule.method;
    const prefix = segments.slice(0, -1).map((s) => (s.kind === 'literal' ? s.value : freshSegment));
    const takers = new Map<number, RouteRule>();
    let reachable = false;
    // Depths beyond the deepest rule behave like the deepest one plus one: only
    // catch-alls match there, and all of them match every such depth.
    for (let extra = 1; extra <= maxDepth - prefix.length + 1 && !reachable; extra++) {
      const path = `/${[...prefix, ...Array<string>(extra).fill(freshSegment)].join('/')}`;
      const match = matcher.match(method, path);
      if (match === null || match.rule.index === rule.index) reachable = true;
      else takers.set(match.rule.index, match.rule);
    }
    if (reachable) continue;
    const by = [...takers.values()]
      .map((t) => `routes[${t.index}] "${t.pattern}"${t.line === undefined ? '' : ` (line ${t.line})`}`)
      .join(', ');
    warnings.push({
      kind: 'shadowed',
      index: rule.index,
      pattern: rule.pattern,
      line: rule.line,
      message: `shadowed: every request it matches is taken by more specific rules: ${by}`,
    });
  }
  return warnings;
}

function unboundResources(matcher: RouteMatcher): RouteWarning[] {
  const warnings: RouteWarning[] = [];
  for (const rule of matcher.rules) {
    const requirement = rule.requirement;
    if (requirement.kind !== 'permissions' || requirement.resource.kind !== 'token_owner') continue;
    const parsed = parsePattern(rule.pattern);
    if (!parsed.ok) continue;
    const named: string[] = [];
    let previous: PatternSegment | undefined;
    const acknowledged = new Set(rule.upstreamChecks);
    for (const segment of parsed.pattern.segments) {
      if (segment.kind !== 'literal' && !acknowledged.has(segment.name)) {
        const kind =
          resourceKindOf(segment.name) ??
          (previous?.kind === 'literal' ? collectionKindOf(previous.value) : null);
        const brace = segment.kind === 'catch_all' ? `{${segment.name}+}` : `{${segment.name}}`;
        if (kind !== null) named.push(`${brace} (${RESOURCE_KIND_LABEL[kind]}?)`);
      }
      previous = segment;
    }
    if (named.length === 0) continue;
    const them = named.length === 1 ? 'it' : 'them';
    warnings.push({
      kind: 'unbound_resource',
      index: rule.index,
      pattern: rule.pattern,
      line: rule.line,
      message:
        `resource outside the check: binds no resource, but its path takes ${named.join(' and ')}; ` +
        "the permission is checked on the token's own resource owner, so a token for one owner " +
        `can act on another's unless the upstream checks ${them} itself ` +
        `(bind ${them} with "resource:" if the permission is about ${them})`,
    });
  }
  return warnings;
}

function unusedFeatures(input: LintRoutesInput): RouteWarning[] {
  const used = new Set<string>();
  for (const rule of input.matcher.rules) {
    if (rule.requirement.kind !== 'permissions') continue;
    for (const set of rule.requirement.alternatives) for (const p of set) used.add(p.feature);
  }
  return Object.keys(input.features)
    .filter((feature) => !used.has(feature))
    .map((feature) => ({
      kind: 'unused_feature' as const,
      index: -1,
      pattern: `features.${feature}`,
      line: input.featureLines?.[feature],
      message: 'declared but no route requires it',
    }));
}
