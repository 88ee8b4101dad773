import { readFile, writeFile } from 'node:fs/promises';
import { compileErrors, parse, validate } from '@readme/openapi-parser';
import { LineCounter, parseDocument } from 'yaml';
import { formatPath } from '../config/load.js';
import { importOpenApi, type RouteMapImport } from '../import/build-route-map.js';
import { importPermissionTable, type PermissionTableImport } from '../import/import-permission-table.js';
import { renderRouteMap } from '../import/render-yaml.js';
import { type ImportRules, importRulesSchema, NO_RULES } from '../import/rules-schema.js';

type Print = (line: string) => void;

export interface RoutesImportOptions {
  /** The source format: `openapi`, or `github-permissions` (GitHub's fine-grained permission table). */
  readonly from: string;
  readonly file: string;
  /** With `github-permissions`: GitHub's OpenAPI document, for path shapes and `{name+}` tails. */
  readonly openapi?: string | undefined;
  readonly rules?: string | undefined;
  readonly out?: string | undefined;
  /** Emit a complete config for this upstream instead of a fragment. */
  readonly upstream?: string | undefined;
}

function reason(error: unknown): string {
  if (error instanceof Error)
    return (error as NodeJS.ErrnoException).code ?? error.message.split('\n')[0] ?? '';
  return String(error);
}

/** Reads and checks a rules file; every problem names its key and line. */
async function readRules(
  path: string,
): Promise<{ ok: true; rules: ImportRules } | { ok: false; errors: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, errors: [`${path}: cannot read rules file (${reason(error)})`] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map(
        (e) => `${path}:${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`,
      ),
    };
  }
  const parsed = importRulesSchema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return { ok: true, rules: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => {
      const keys = issue.path.filter(
        (p): p is string | number => typeof p === 'string' || typeof p === 'number',
      );
      const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
      const at = node?.range === undefined ? path : `${path}:${lineCounter.linePos(node.range[0]).line}`;
      return `${at}: ${formatPath(issue.path)}: ${issue.message}`;
    }),
  };
}

type Loaded<T> = { ok: true; value: T } | { ok: false };

/** Validates and parses an OpenAPI document, printing why not. */
async function readOpenApi(file: string, err: Print): Promise<Loaded<unknown>> {
  try {
    // A maintained parser validates against the OpenAPI 3.0/3.1 schemas, so a broken
    // document is refused here instead of half-imported.
    const validation = await validate(file);
    if (!validation.valid) {
      err(`${file}: not a valid OpenAPI document`);
      err(compileErrors(validation));
      return { ok: false };
    }
    return { ok: true, value: await parse(file) };
  } catch (error) {
    err(`${file}: cannot read OpenAPI document (${reason(error)})`);
    return { ok: false };
  }
}

async function readJson(file: string, what: string, err: Print): Promise<Loaded<unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    err(`${file}: cannot read ${what} (${reason(error)})`);
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    err(`${file}: ${what} is not JSON (${reason(error)})`);
    return { ok: false };
  }
}

const FORMATS = ['openapi', 'github-permissions'];

// The table is GitHub's documentation data, so the map made from it says where it comes from.
const GITHUB_TABLE_CREDIT =
  "Permissions: GitHub's fine-grained personal access token permissions table (GitHub docs data, github/docs src/github-apps/data, (c) GitHub, Inc., CC BY 4.0).";

/**
 * `patgate routes import --from openapi FILE [--rules RULES] [--out FILE]`, or
 * `--from github-permissions TABLE [--openapi FILE] [--rules RULES] [--out FILE]`: the
 * route map as YAML (stdout or --out); the summary, conflicts, unmapped operations and
 * warnings on stderr. 0 when a map was written, 2 when the inputs are unusable.
 */
export async function routesImport(options: RoutesImportOptions, out: Print, err: Print): Promise<number> {
  if (!FORMATS.includes(options.from)) {
    err(`--from ${options.from}: expected one of ${FORMATS.map((f) => `"${f}"`).join(', ')}`);
    return 2;
  }
  if (options.openapi !== undefined && options.from !== 'github-permissions') {
    err('--openapi goes with --from github-permissions (with --from openapi, FILE is the document)');
    return 2;
  }
  const rules =
    options.rules === undefined ? { ok: true as const, rules: NO_RULES } : await readRules(options.rules);
  if (!rules.ok) {
    for (const e of rules.errors) err(e);
    return 2;
  }

  let result: { ok: true; imported: RouteMapImport } | { ok: false; errors: string[] };
  let table: PermissionTableImport | undefined;
  if (options.from === 'openapi') {
    const document = await readOpenApi(options.file, err);
    if (!document.ok) return 2;
    result = importOpenApi(document.value, rules.rules);
  } else {
    const json = await readJson(options.file, 'permission table', err);
    if (!json.ok) return 2;
    const document = options.openapi === undefined ? undefined : await readOpenApi(options.openapi, err);
    if (document !== undefined && !document.ok) return 2;
    const imported = importPermissionTable(json.value, { document: document?.value, rules: rules.rules });
    if (imported.ok) table = imported.imported;
    result = imported;
  }
  if (!result.ok) {
    for (const e of result.errors) err(`${options.file}: ${e}`);
    err(`${result.errors.length} error(s); nothing written`);
    return 2;
  }
  const imported = result.imported;
  const command = [
    `patgate routes import --from ${options.from}`,
    options.file,
    ...(options.openapi === undefined ? [] : ['--openapi', options.openapi]),
    ...(options.rules === undefined ? [] : ['--rules', options.rules]),
    ...(options.upstream === undefined ? [] : ['--upstream', options.upstream]),
  ].join(' ');
  const yaml = renderRouteMap(imported, {
    header: [
      `Generated by: ${command}`,
      ...(table === undefined ? [] : [GITHUB_TABLE_CREDIT]),
      'Review it, then `patgate routes check --config` it. Regenerate rather than edit.',
    ],
    upstream: options.upstream,
  });
  if (options.out === undefined) out(yaml.trimEnd());
  else {
    try {
      await writeFile(options.out, yaml);
    } catch (error) {
      err(`${options.out}: cannot write (${reason(error)})`);
      return 2;
    }
  }

  for (const c of imported.conflicts) err(`conflict (${c.resolution}): ${c.message}`);
  for (const u of imported.unmapped) err(`unmapped: ${u.label}: ${u.reason}`);
  for (const w of imported.warnings) err(`warning: ${w}`);
  if (table !== undefined) reportTable(table, err);
  const resolved = imported.conflicts.filter((c) => c.resolution !== 'unresolved').length;
  err(
    `${options.file}: ${imported.operationCount} operations: ${imported.routes.length} routes, ` +
      `${imported.unmapped.length} unmapped (denied), ${resolved} conflict(s) resolved, ` +
      `${imported.conflicts.length - resolved} unresolved, ${Object.keys(imported.features).length} features` +
      (options.out === undefined ? '' : `; wrote ${options.out}`),
  );
  return 0;
}

/** The endpoints read conservatively, and how the written map agrees with the table. */
function reportTable(table: PermissionTableImport, err: Print): void {
  for (const c of table.conservative) {
    err(
      `conservative: ${c.endpoint}: requires ${c.requires.join(' + ')} together (the table flags additional permissions${c.reading === 'mixed' ? ' on some of its rows only' : ''})`,
    );
  }
  const { unambiguous, flagged } = table.agreement;
  for (const f of [...unambiguous.differ, ...unambiguous.missing, ...flagged.differ, ...flagged.missing]) {
    err(
      `disagrees: ${f.endpoint}: the table says ${f.expected}; the map ${f.route === undefined ? 'has no route' : `has "${f.route}" requiring ${f.actual}`}`,
    );
  }
  err(
    `agreement with the table: ${unambiguous.agree}/${unambiguous.total} unambiguous endpoints exactly, ` +
      `${flagged.agree}/${flagged.total} flagged endpoints at least; ${table.conservative.length} read conservatively`,
  );
}
