import { z } from 'zod';
import { LEVELS, type Level } from '../config/permission.js';

/**
 * GitHub's table of the fine-grained personal access token permission each REST endpoint
 * needs, in the shape of GitHub's docs data (github/docs,
 * `src/github-apps/data/<version>/fine-grained-pat-permissions.json`): per permission key a
 * title and the endpoints it serves, each with its verb, path, level and whether the
 * endpoint needs more than this one permission (`additional-permissions`).
 *
 * The docs generator sets `additional-permissions` when the endpoint's permission sets are
 * more than one, or one holds more than one permission (`calculateAdditionalPermissions` in
 * github/docs `src/github-apps/scripts/sync.ts`), and drops `metadata` from such endpoints.
 * So the flag says "this permission is not the whole story", never how the others combine.
 */

// Unknown keys are kept out of the result but allowed: the docs data has grown fields
// (category, subcategory, displayTitle) over time, and none of them bears on a decision.
const entrySchema = z.looseObject({
  verb: z.string().regex(/^[a-z]+$/, 'expected a lower-case HTTP method, e.g. "get"'),
  requestPath: z.string().regex(/^\/\S*$/, 'expected a path starting with "/"'),
  access: z.enum(LEVELS),
  'additional-permissions': z.boolean(),
  slug: z.string().optional(),
});

const permissionSchema = z.looseObject({
  title: z.string().min(1),
  permissions: z.array(entrySchema),
});

const PERMISSION_KEY = /^[a-z][a-z0-9_]*$/;

const tableSchema = z.record(z.string(), permissionSchema);

/** One row of the table: this endpoint is served by `feature` at `level`. */
export interface TableEntry {
  readonly feature: string;
  readonly level: Level;
  /** The table's `additional-permissions`: the endpoint needs more than this permission alone. */
  readonly additional: boolean;
}

/** An endpoint with every row that names it, in table order. */
export interface TableEndpoint {
  /** Upper case. */
  readonly method: string;
  /** As the table writes it, an OpenAPI path template. */
  readonly path: string;
  readonly entries: readonly TableEntry[];
  /** GitHub's docs slug of the endpoint (e.g. `create-a-reference`), when the table gives one. */
  readonly slug: string | undefined;
}

export interface PermissionTable {
  /** In table order: by permission, then by the permission's list; each endpoint once. */
  readonly endpoints: readonly TableEndpoint[];
  /** Permission key -> the table's title, e.g. `pull_requests` -> `Pull requests`. */
  readonly titles: Readonly<Record<string, string>>;
  readonly entryCount: number;
}

export type ReadTableResult = { ok: true; table: PermissionTable } | { ok: false; errors: string[] };

export function endpointKey(method: string, path: string): string {
  return `${method} ${path}`;
}

/** Reads the table from its parsed JSON; every problem names its key and index. */
export function readPermissionTable(json: unknown): ReadTableResult {
  const parsed = tableSchema.safeParse(json);
  // Keys are checked here, every one: a record's key refusal in zod carries no message of ours.
  const badKeys =
    typeof json === 'object' && json !== null && !Array.isArray(json)
      ? Object.keys(json).filter((key) => !PERMISSION_KEY.test(key))
      : [];
  const errors = badKeys.map((key) => `${key}: permission keys are lowercase letters, digits and _`);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      errors.push(`${at === '' ? '(top level)' : at.slice(at.startsWith('.') ? 1 : 0)}: ${issue.message}`);
    }
  }
  if (!parsed.success || errors.length > 0) return { ok: false, errors };
  const titles: Record<string, string> = {};
  const byKey = new Map<string, { method: string; path: string; entries: TableEntry[]; slug?: string }>();
  let entryCount = 0;
  for (const [feature, permission] of Object.entries(parsed.data)) {
    titles[feature] = permission.title;
    for (const row of permission.permissions) {
      entryCount++;
      const method = row.verb.toUpperCase();
      const key = endpointKey(method, row.requestPath);
      let endpoint = byKey.get(key);
      if (endpoint === undefined) {
        endpoint = { method, path: row.requestPath, entries: [] };
        byKey.set(key, endpoint);
      }
      if (endpoint.slug === undefined && row.slug !== undefined) endpoint.slug = row.slug;
      endpoint.entries.push({ feature, level: row.access, additional: row['additional-permissions'] });
    }
  }
  const endpoints = [...byKey.values()].map((e) => ({ ...e, slug: e.slug }));
  return { ok: true, table: { endpoints, titles, entryCount } };
}
