import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema } from './schema.js';

/** A config that passed the schema; its route map is compiled by `routes/load-config.ts`. */
export interface ParsedConfig {
  readonly config: Config;
  /** 1-based line of each `routes[i]` in the file, for messages that point at a route. */
  readonly routeLines: readonly (number | undefined)[];
  /** Where it came from, for messages. */
  readonly source: string;
}

export type ParseConfigResult =
  | { readonly ok: true; readonly parsed: ParsedConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Values the environment may override (`PATGATE_REDIS_URL`). */
export interface ConfigOverrides {
  readonly redisUrl?: string | undefined;
}

/**
 * Parses and validates a config file's text (YAML or JSON: JSON is YAML).
 * Every error names the key or route at fault, with the file and line where known.
 */
export function parseConfigText(
  text: string,
  source: string,
  overrides: ConfigOverrides = {},
): ParseConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0]);
        return `${source}:${at.line}:${at.col}: ${e.message.split('\n')[0]}`;
      }),
    };
  }
  const raw: unknown = doc.toJS();
  const withOverrides = applyOverrides(raw, overrides);
  const parsed = configSchema.safeParse(withOverrides);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => formatIssue(issue, source, doc, lineCounter)),
    };
  }
  const config = parsed.data;
  const routeLines = config.routes.map((_, i) => lineOf(doc, lineCounter, ['routes', i]));
  return { ok: true, parsed: { config, routeLines, source } };
}

function applyOverrides(raw: unknown, overrides: ConfigOverrides): unknown {
  if (overrides.redisUrl === undefined || typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return raw;
  }
  const record = raw as Record<string, unknown>;
  const store = typeof record.store === 'object' && record.store !== null ? record.store : {};
  return { ...record, store: { ...store, redis_url: overrides.redisUrl } };
}

/** `routes[12].permission` from `['routes', 12, 'permission']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function formatIssue(
  issue: z.core.$ZodIssue,
  source: string,
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
): string {
  let path = issue.path;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    // Point at the first unknown key itself.
    const first = issue.keys[0];
    if (first !== undefined) path = [...path, first];
  }
  const line = lineOf(doc, lineCounter, path) ?? lineOf(doc, lineCounter, issue.path);
  const where = line === undefined ? source : `${source}:${line}`;
  const routeIndex = path[0] === 'routes' && typeof path[1] === 'number' ? path[1] : undefined;
  const pattern = routeIndex === undefined ? undefined : routePattern(doc, routeIndex);
  const label = pattern === undefined ? formatPath(path) : `${formatPath(path)} ("${pattern}")`;
  return `${where}: ${label}: ${message}`;
}

function routePattern(doc: ReturnType<typeof parseDocument>, index: number): string | undefined {
  const value = doc.getIn(['routes', index, 'route']);
  return typeof value === 'string' ? value : undefined;
}

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  const keys = path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
  // For a key, point at the key itself (its pair) rather than its value.
  const parentNode = keys.length === 0 ? doc.contents : doc.getIn(keys.slice(0, -1), true);
  const last = keys[keys.length - 1];
  let offset: number | undefined;
  if (last !== undefined && isMap(parentNode)) {
    const pair = parentNode.items.find((item) => {
      const key = item.key as { value?: unknown } | null;
      return key !== null && typeof key === 'object' && key.value === last;
    });
    const keyNode = pair?.key as { range?: [number, number, number] } | undefined;
    offset = keyNode?.range?.[0];
  } else if (last !== undefined && isSeq(parentNode) && typeof last === 'number') {
    const item = parentNode.items[last] as { range?: [number, number, number] } | undefined;
    offset = item?.range?.[0];
  } else {
    const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
    offset = node?.range?.[0];
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}
