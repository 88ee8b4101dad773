import { z } from 'zod';
import { formatPath } from '../config/load.js';
import { configSchema } from '../config/schema.js';
import type { Dialect } from '../gateway/refusal.js';
import type { RouteTable } from '../gateway/route-table.js';
import { compileRoutes } from '../routes/compile.js';

const shape = configSchema.shape;

/**
 * The keys of `patgate.yaml` the middleware reads, each validated by the gateway's own schema
 * entry: the same features, routes, defaults and messages. The rest of a gateway config
 * (listeners, upstream, store, ...) belongs to the gateway process and is ignored here.
 */
const middlewareSchema = z.object({
  features: shape.features,
  routes: shape.routes,
  implicit: shape.implicit,
  hide_forbidden: shape.hide_forbidden,
  base_path: shape.base_path,
  compat: shape.compat,
  cache: shape.cache,
  limits: shape.limits,
});

/** Read-only all the way down, so that a map written `as const` is accepted. */
type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What `patgate({ config })` accepts: a gateway config object, or just its route map. */
export type PatgateConfigInput = DeepReadonly<z.input<typeof middlewareSchema>> &
  Readonly<Record<string, unknown>>;

/** A config validated and compiled once, when the middleware is built. */
export interface CompiledConfig {
  readonly table: RouteTable;
  readonly basePath: string | null;
  readonly dialect: Dialect;
  readonly cache: { readonly maxEntries: number; readonly ttlMs: number; readonly negativeTtlMs: number };
  readonly maxTargetLength: number;
  readonly maxHeaderCount: number;
}

/** A config the middleware cannot run with: every problem, each naming its key or route. */
export class PatgateConfigError extends Error {
  readonly code = 'PATGATE_CONFIG_INVALID';
  constructor(readonly errors: readonly string[]) {
    super(`patgate: invalid config:\n  ${errors.join('\n  ')}`);
    this.name = 'PatgateConfigError';
  }
}

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(shape));

/**
 * Validates and compiles the route map as `routes/load-config.ts` does for the gateway: the same
 * schema entries and `compileRoutes`, so a map that loads in one loads in the other. A key that
 * is no config key at all is an error, as in the gateway's file (a typo must not pass unseen).
 */
export function compileConfig(input: unknown): CompiledConfig {
  const errors: string[] = [];
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    for (const key of Object.keys(input)) {
      if (!KNOWN_KEYS.has(key)) errors.push(`${key}: unknown key "${key}"`);
    }
  }
  const parsed = middlewareSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(`${formatPath(issue.path)}: ${issue.message}`);
  }
  if (errors.length > 0 || !parsed.success) throw new PatgateConfigError(errors);
  const config = parsed.data;
  const compiled = compileRoutes({
    routes: config.routes,
    features: config.features,
    implicit: config.implicit,
    defaultMaxBodyBytes: config.limits.max_body_bytes,
  });
  if (!compiled.ok) {
    throw new PatgateConfigError(
      compiled.errors.map((e) =>
        e.index < 0 ? e.message : `routes[${e.index}] "${e.pattern}": ${e.message}`,
      ),
    );
  }
  return {
    table: { matcher: compiled.matcher, implicit: compiled.implicit, hideForbidden: config.hide_forbidden },
    basePath: config.base_path ?? null,
    dialect: config.compat === 'github' ? 'github' : 'patgate',
    cache: {
      maxEntries: config.cache.max_entries,
      ttlMs: config.cache.ttl_ms,
      // As the gateway: a "no such token" is never remembered longer than a grant.
      negativeTtlMs: Math.min(config.cache.negative_ttl_ms, config.cache.ttl_ms),
    },
    maxTargetLength: config.limits.max_target_length,
    maxHeaderCount: config.limits.max_header_count,
  };
}
