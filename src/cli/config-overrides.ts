import { isMap, isScalar, type Node, parseDocument, type YAMLMap } from 'yaml';

/** A config key the environment sets, applied to the file's text before it is validated. */
export interface EnvOverride {
  /** The variable, for messages: `PATGATE_LISTEN`. */
  readonly variable: string;
  /** The key it replaces: `['upstream', 'url']`. */
  readonly path: readonly [string, ...string[]];
  readonly value: string;
}

/** The keys the environment may set, beside `PATGATE_REDIS_URL` (which the loader applies). */
const VARIABLES: readonly { readonly variable: string; readonly path: readonly [string, ...string[]] }[] = [
  { variable: 'PATGATE_LISTEN', path: ['listen'] },
  { variable: 'PATGATE_UPSTREAM_URL', path: ['upstream', 'url'] },
];

/** The overrides set in `env`; an empty value sets nothing. */
export function overridesFrom(env: NodeJS.ProcessEnv): EnvOverride[] {
  const out: EnvOverride[] = [];
  for (const { variable, path } of VARIABLES) {
    const value = env[variable];
    if (value !== undefined && value !== '') out.push({ variable, path, value });
  }
  return out;
}

/**
 * The config text with each override's key set to its value. The text is edited in place
 * (a value replaced, a key added on the line of its map or at the end of the file) rather
 * than re-serialized, so the loader's messages still point at the lines of the file as
 * written. A text that does not parse as a map is returned as it is: the loader reports it.
 */
export function applyOverrides(text: string, overrides: readonly EnvOverride[]): string {
  let out = text;
  for (const override of overrides) out = applyOne(out, override);
  return out;
}

function applyOne(text: string, { path, value }: EnvOverride): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return text;
  const edited = splice(text, doc.contents, path, value, true);
  if (edited !== undefined) {
    // Trust an edit only if it reads back as meant; otherwise let the library rewrite the file.
    const check = parseDocument(edited);
    if (check.errors.length === 0 && check.getIn(path) === value) return edited;
  }
  doc.setIn(path, value);
  return doc.toString({ lineWidth: 0 });
}

type Range = readonly [number, number, number];

function rangeOf(node: unknown): Range | undefined {
  return (node as Node | null)?.range ?? undefined;
}

/** The text with `path` set to `value` in `map`, or undefined where no in-place edit is safe. */
function splice(
  text: string,
  map: YAMLMap,
  path: readonly string[],
  value: string,
  topLevel: boolean,
): string | undefined {
  const [key, ...rest] = path;
  if (key === undefined) return undefined;
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  const replacement = rest.length === 0 ? JSON.stringify(value) : flowMap(rest, value);
  if (pair === undefined) return insert(text, map, key, replacement, topLevel);
  if (rest.length > 0 && isMap(pair.value)) return splice(text, pair.value, rest, value, false);
  const range = rangeOf(pair.value);
  if (range === undefined) return undefined;
  // `key:` with no value: its empty range sits right after the colon.
  const space = text[range[0] - 1] === ':' ? ' ' : '';
  return `${text.slice(0, range[0])}${space}${replacement}${text.slice(range[1])}`;
}

/** `{"url": "..."}` for the keys still to create below a new one. */
function flowMap(path: readonly string[], value: string): string {
  return path.reduceRight<string>(
    (inner, key) => `{${JSON.stringify(key)}: ${inner}}`,
    JSON.stringify(value),
  );
}

function insert(
  text: string,
  map: YAMLMap,
  key: string,
  valueText: string,
  topLevel: boolean,
): string | undefined {
  const range = rangeOf(map);
  if (range === undefined) return undefined;
  const entry = `${JSON.stringify(key)}: ${valueText}`;
  if (map.flow === true) {
    // After the `{`: on the same line, so no line below moves.
    const at = range[0] + 1;
    return `${text.slice(0, at)}${entry}${map.items.length > 0 ? ', ' : ''}${text.slice(at)}`;
  }
  if (topLevel) {
    // The top-level block map: a new last line, unless something but comments follows it.
    if (!/^\s*(#[^\n]*\s*)*$/.test(text.slice(range[2]))) return undefined;
    return `${text}${text.endsWith('\n') ? '' : '\n'}${entry}\n`;
  }
  // A nested block map: one line after its last entry (the lines below it move by one).
  const last = map.items[map.items.length - 1];
  const end = rangeOf(last?.value)?.[1] ?? rangeOf(last?.key)?.[1];
  const first = rangeOf(map.items[0]?.key);
  if (end === undefined || first === undefined) return undefined;
  const indent = first[0] - lineStart(text, first[0]);
  return `${text.slice(0, end)}\n${' '.repeat(indent)}${entry}${text.slice(end)}`;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}
