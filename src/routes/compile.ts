import type { Level, Permission, PermissionSet } from '../config/permission.js';
import type { RouteConfig } from '../config/schema.js';
import { parsePattern } from './pattern.js';
import { buildRequirement } from './requirement.js';
import { resolvePermission } from './resolve-permission.js';
import { RouteTrie } from './trie.js';
import type { RouteError, RouteMatcher, RouteRule } from './types.js';
import { checkUpstreamChecks } from './upstream-checks.js';

export interface CompileRoutesInput {
  readonly routes: readonly RouteConfig[];
  /** The permission catalogue: feature -> levels it supports. */
  readonly features: Readonly<Record<string, readonly Level[]>>;
  /** Permissions every fine-grained token holds, e.g. `["metadata:read"]`. */
  readonly implicit: readonly string[];
  /** `limits.max_body_bytes`: the body limit of a route that sets no `max_body_bytes` of its own. */
  readonly defaultMaxBodyBytes: number;
  /** 1-based source line per route index, when known. */
  readonly lines?: readonly (number | undefined)[];
}

export type CompileRoutesResult =
  | { ok: true; matcher: RouteMatcher; implicit: PermissionSet }
  | { ok: false; errors: RouteError[] };

/**
 * Compiles the route table once, at startup or reload. Every error is collected,
 * so `patgate routes check` can show them all in one run; a table with any error
 * yields no matcher at all (deny by default, the old map stays on reload).
 */
export function compileRoutes(input: CompileRoutesInput): CompileRoutesResult {
  // A programming error, not a config one (the schema checks the config's value): refused
  // here because a rule without a number would compare as "no limit" wherever it is read.
  if (!Number.isSafeInteger(input.defaultMaxBodyBytes) || input.defaultMaxBodyBytes < 0) {
    throw new RangeError(
      `defaultMaxBodyBytes must be a non-negative integer, got ${input.defaultMaxBodyBytes}`,
    );
  }
  const errors: RouteError[] = [];

  const implicit: Permission[] = [];
  input.implicit.forEach((text, i) => {
    const resolved = resolvePermission(text, input.features);
    if (resolved.ok) implicit.push(resolved.permission);
    else
      errors.push({
        index: -1,
        pattern: 'implicit',
        line: undefined,
        message: `implicit[${i}]: ${resolved.error}`,
      });
  });

  const trie = new RouteTrie();
  const rules: RouteRule[] = [];
  input.routes.forEach((route, index) => {
    const line = input.lines?.[index];
    const fail = (message: string): void => {
      errors.push({ index, pattern: route.route, line, message });
    };
    const parsed = parsePattern(route.route);
    if (!parsed.ok) fail(parsed.error);
    const built = buildRequirement(route, parsed.ok ? parsed.pattern.segments : undefined, input.features);
    if (!built.ok) built.errors.forEach(fail);
    if (!parsed.ok) return;
    const acknowledged = built.ok
      ? checkUpstreamChecks(route.upstream_checks, parsed.pattern.segments, built.requirement)
      : undefined;
    if (acknowledged !== undefined && !acknowledged.ok) acknowledged.errors.forEach(fail);

    const rule: RouteRule = {
      index,
      pattern: route.route,
      method: parsed.pattern.method,
      line,
      maxBodyBytes: route.max_body_bytes ?? input.defaultMaxBodyBytes,
      // A rule with a bad requirement is still inserted so its conflicts are reported
      // too; the placeholder is unreachable because any error discards the trie.
      requirement: built.ok ? built.requirement : { kind: 'public' },
      upstreamChecks: acknowledged?.ok === true ? acknowledged.names : [],
    };
    const clash = trie.insert(rule, parsed.pattern.segments);
    if (clash !== undefined) {
      const where = clash.line === undefined ? '' : ` (line ${clash.line})`;
      fail(`conflicts with routes[${clash.index}] "${clash.pattern}"${where}: both match the same requests`);
      return;
    }
    rules.push(rule);
  });

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    matcher: { rules, match: (method, path) => trie.lookup(method, path) },
    implicit,
  };
}
