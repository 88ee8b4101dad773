import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPermissionTable } from '../../src/import/permission-table.js';
import { measureAgreement } from '../../src/import/table-agreement.js';
import { type LoadedConfig, loadConfigText } from '../../src/routes/load-config.js';

/*
 * Done-when for issue 13 ("the GitHub map is GitHub's own"): every endpoint of GitHub's
 * fine-grained permission table, as shipped in config/examples, resolves through the
 * shipped map to exactly the table's requirement, or, where the table flags additional
 * permissions, to at least every listed permission. The table is read here with a
 * deliberately small reading of its own, never with the importer's code.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const MAP = resolve(ROOT, 'config/examples/github-api.yaml');
const TABLE = resolve(ROOT, 'config/examples/github-fine-grained-pat-permissions.json');
const DOC = resolve(ROOT, 'docs/github-map.md');

type Row = { verb: string; requestPath: string; access: string; 'additional-permissions': boolean };
type Table = Record<string, { title: string; permissions: Row[] }>;

interface Endpoint {
  method: string;
  path: string;
  /** `feature:level` of every row. */
  rows: { permission: string; flagged: boolean }[];
}

const RANK: Record<string, number> = { read: 1, write: 2, admin: 3 };

function endpointsOf(table: Table): Endpoint[] {
  const byKey = new Map<string, Endpoint>();
  for (const [feature, { permissions }] of Object.entries(table)) {
    for (const row of permissions) {
      const method = row.verb.toUpperCase();
      const key = `${method} ${row.requestPath}`;
      const endpoint = byKey.get(key) ?? { method, path: row.requestPath, rows: [] };
      endpoint.rows.push({ permission: `${feature}:${row.access}`, flagged: row['additional-permissions'] });
      byKey.set(key, endpoint);
    }
  }
  return [...byKey.values()];
}

/** Every `{param}` filled with a value that names nothing in particular. */
const concrete = (template: string): string =>
  template.replace(/\{([^{}]+)\}/g, (_, n: string) => `v-${n.length}x`);

/** Whether `held` (a route's alternative) covers `needed` at its level or higher. */
function covers(held: readonly string[], needed: string): boolean {
  const [feature, level = ''] = needed.split(':');
  return held.some((h) => {
    const [f, l = ''] = h.split(':');
    return f === feature && (RANK[l] ?? 0) >= (RANK[level] ?? 99);
  });
}

describe("the shipped GitHub map against GitHub's own table", () => {
  const table = JSON.parse(readFileSync(TABLE, 'utf8')) as Table;
  const endpoints = endpointsOf(table);
  const unambiguous = endpoints.filter((e) => e.rows.every((r) => !r.flagged));
  const flagged = endpoints.filter((e) => e.rows.some((r) => r.flagged));
  let loaded: LoadedConfig;

  beforeAll(() => {
    const result = loadConfigText(readFileSync(MAP, 'utf8'), MAP);
    if (!result.ok) throw new Error(result.errors.slice(0, 10).join('\n'));
    loaded = result.loaded;
  });

  /** The route's requirement as alternatives of `feature:level`, or why there is none. */
  function resolveEndpoint(e: Endpoint): string[][] | string {
    const match = loaded.matcher.match(e.method, concrete(e.path));
    if (match === null) return 'no route';
    const requirement = match.rule.requirement;
    if (requirement.kind === 'public') return `public route ${match.rule.pattern}`;
    return requirement.alternatives.map((set) => set.map((p) => `${p.feature}:${p.level}`));
  }

  it('is the table as shipped: 73 permissions, 1,017 rows, 942 endpoints, 101 of them flagged', () => {
    expect(Object.keys(table)).toHaveLength(73);
    expect(Object.values(table).reduce((n, p) => n + p.permissions.length, 0)).toBe(1017);
    expect(endpoints).toHaveLength(942);
    expect(unambiguous).toHaveLength(841);
    expect(flagged).toHaveLength(101);
  });

  it('resolves every unambiguous endpoint to exactly its permission', () => {
    const wrong: string[] = [];
    for (const e of unambiguous) {
      const got = resolveEndpoint(e);
      const want = [...new Set(e.rows.map((r) => r.permission))].map((p) => [p]);
      const canonical = (sets: string[][]) =>
        sets
          .map((s) => [...s].sort().join('+'))
          .sort()
          .join(' | ');
      if (typeof got === 'string' || canonical(got) !== canonical(want)) {
        wrong.push(
          `${e.method} ${e.path}: table ${canonical(want)}, map ${typeof got === 'string' ? got : canonical(got)}`,
        );
      }
    }
    expect(wrong).toEqual([]);
  });

  it('resolves every flagged endpoint to at least every listed permission, in each alternative', () => {
    const wrong: string[] = [];
    for (const e of flagged) {
      const got = resolveEndpoint(e);
      const needed = e.rows.map((r) => r.permission);
      if (typeof got === 'string' || !got.every((set) => needed.every((p) => covers(set, p)))) {
        wrong.push(`${e.method} ${e.path}: needs ${needed.join(' + ')}, map ${JSON.stringify(got)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('binds the repository where the path names {owner}/{repo}, else the organization of /orgs/{org}', () => {
    const wrong: string[] = [];
    for (const e of endpoints) {
      const expected = /\/\{owner\}\/\{repo\}(\/|$)/.test(e.path)
        ? 'repository'
        : /^\/orgs\/\{org\}(\/|$)/.test(e.path)
          ? 'owner'
          : undefined;
      if (expected === undefined) continue;
      const requirement = loaded.matcher.match(e.method, concrete(e.path))?.rule.requirement;
      const kind = requirement?.kind === 'permissions' ? requirement.resource.kind : requirement?.kind;
      if (kind !== expected) wrong.push(`${e.method} ${e.path}: ${String(kind)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("agrees with the importer's own measure, which `routes import` prints", () => {
    const read = readPermissionTable(table);
    if (!read.ok) throw new Error(read.errors.join('\n'));
    const report = measureAgreement(read.table, loaded.matcher);
    expect([report.unambiguous.agree, report.unambiguous.total]).toEqual([841, 841]);
    expect([report.flagged.agree, report.flagged.total]).toEqual([101, 101]);
  });

  it('names its source and licence in the header, and ships the file it names', () => {
    const header = readFileSync(MAP, 'utf8').split('\n').slice(0, 4).join('\n');
    expect(header).toContain(
      '# Generated by: patgate routes import --from github-permissions config/examples/github-fine-grained-pat-permissions.json ',
    );
    expect(header).toContain("GitHub's fine-grained personal access token permissions table");
    expect(header).toContain('CC BY 4.0');
  });

  it('lists exactly the flagged endpoints, with what they require, in docs/github-map.md', () => {
    const doc = readFileSync(DOC, 'utf8');
    const section = doc.slice(doc.indexOf('## Endpoints read conservatively'), doc.indexOf('## Credit'));
    const listed = [...section.matchAll(/^- `([A-Z]+ \S+)`: (.+)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
    const expected = flagged.map((e) => {
      const levels = new Map<string, string>();
      for (const { permission } of e.rows) {
        const [f = '', l = ''] = permission.split(':');
        if ((RANK[l] ?? 0) > (RANK[levels.get(f) ?? ''] ?? 0)) levels.set(f, l);
      }
      return `${e.method} ${e.path}: ${[...levels].map(([f, l]) => `${f}:${l}`).join(' + ')}`;
    });
    expect(listed).toEqual(expected);
  });
});
