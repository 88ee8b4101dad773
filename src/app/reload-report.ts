import type { LoadedConfig } from '../routes/load-config.js';

type Config = LoadedConfig['config'];

/** What a reload did: the route map's changes by pattern, and the changed keys it did not apply. */
export type ReloadReport =
  | {
      readonly ok: true;
      readonly routes: RouteChanges;
      /** Top-level keys that differ from what is running and are read only at startup. */
      readonly restartRequired: readonly string[];
    }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Route patterns (`"GET /repos/{owner}/{repo}/issues"`), in map order. */
export interface RouteChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/** What a reload applies; every other top-level key is read once at startup. */
const RELOADABLE = new Set(['routes', 'features', 'implicit', 'hide_forbidden', 'unmatched', 'tls']);

/**
 * The keys of `next` that differ from `running` and that only a restart applies. `running` is
 * the config the process started with, not the last file read: a key changed in one reload and
 * left so in the next still needs the restart, and one changed back needs none.
 */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  return [...keys]
    .filter(
      (key) =>
        !RELOADABLE.has(key) &&
        JSON.stringify(startupPart(running, key)) !== JSON.stringify(startupPart(next, key)),
    )
    .sort();
}

/** The part of a top-level key read only at startup: `limits.max_body_bytes` travels with the compiled rules. */
function startupPart(config: Config, key: string): unknown {
  if (key === 'limits') return { ...config.limits, max_body_bytes: undefined };
  return Reflect.get(config, key);
}

/**
 * The route map's changes by pattern (`"GET /repos/{owner}/{repo}/issues"`): a pattern in one
 * map only is added or removed; one in both whose entry differs (permission, body limit, ...)
 * is changed. A change of `limits.max_body_bytes` changes every route that does not set its own.
 */
export function diffRoutes(before: Config, after: Config): RouteChanges {
  const entries = (config: Config): Map<string, string> =>
    new Map(
      config.routes.map((r) => [
        r.route,
        JSON.stringify({ ...r, max_body_bytes: r.max_body_bytes ?? config.limits.max_body_bytes }),
      ]),
    );
  const old = entries(before);
  const now = entries(after);
  return {
    added: [...now.keys()].filter((k) => !old.has(k)),
    removed: [...old.keys()].filter((k) => !now.has(k)),
    changed: [...now].filter(([k, v]) => old.has(k) && old.get(k) !== v).map(([k]) => k),
  };
}

/** One worker's part in a reload of every worker (`workers: N`). */
export type WorkerReloadOutcome =
  | { readonly worker: number; readonly outcome: 'reloaded' }
  | { readonly worker: number; readonly outcome: 'refused'; readonly errors: readonly string[] }
  | { readonly worker: number; readonly outcome: 'failed'; readonly error: string };

/**
 * A reload of every worker that did not end the same way in all of them: one refused the file
 * another applied (it changed between their reads), or one exited or did not answer. The workers
 * may now serve different maps; each one's outcome says which.
 */
export class ReloadIncompleteError extends Error {
  constructor(readonly workers: readonly WorkerReloadOutcome[]) {
    super(
      `the reload did not end the same way in every worker: ${workers
        .map((w) => `worker ${w.worker} ${w.outcome}${w.outcome === 'failed' ? ` (${w.error})` : ''}`)
        .join(', ')}`,
    );
    this.name = 'ReloadIncompleteError';
  }
}
