import { type ConfigOverrides, type ParsedConfig, parseConfigText } from '../config/load.js';
import type { PermissionSet } from '../config/permission.js';
import { compileRoutes } from './compile.js';
import type { RouteError, RouteMatcher } from './types.js';

/** A config that passed the schema and whose route map compiled. */
export interface LoadedConfig {
  readonly config: ParsedConfig['config'];
  readonly matcher: RouteMatcher;
  readonly implicit: PermissionSet;
  /** Where it came from, for messages. */
  readonly source: string;
}

export type LoadConfigResult =
  | { readonly ok: true; readonly loaded: LoadedConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Parses, validates and compiles a config file's text: `config/` checks the file, this
 * compiles its route map. Lives here rather than in `config/` because the compiler is a
 * layer above the schema (DESIGN.md, Layers).
 */
export function loadConfigText(
  text: string,
  source: string,
  overrides: ConfigOverrides = {},
): LoadConfigResult {
  const parsed = parseConfigText(text, source, overrides);
  if (!parsed.ok) return parsed;
  const { config, routeLines } = parsed.parsed;
  const compiled = compileRoutes({
    routes: config.routes,
    features: config.features,
    implicit: config.implicit,
    defaultMaxBodyBytes: config.limits.max_body_bytes,
    lines: routeLines,
  });
  if (!compiled.ok) {
    return { ok: false, errors: compiled.errors.map((e) => formatRouteError(e, source)) };
  }
  return { ok: true, loaded: { config, matcher: compiled.matcher, implicit: compiled.implicit, source } };
}

function formatRouteError(e: RouteError, source: string): string {
  const where = e.line === undefined ? source : `${source}:${e.line}`;
  if (e.index < 0) return `${where}: ${e.message}`;
  return `${where}: routes[${e.index}] "${e.pattern}": ${e.message}`;
}
