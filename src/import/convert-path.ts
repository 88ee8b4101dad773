import { type PatternSegment, parsePattern } from '../routes/pattern.js';

export interface ConvertedPath {
  /** The path part of a route pattern, e.g. `/repos/{owner}/{repo}/contents/{path+}`. */
  readonly path: string;
  readonly segments: readonly PatternSegment[];
  /** OpenAPI parameter name -> pattern parameter name (they differ when renamed). */
  readonly params: ReadonlyMap<string, string>;
  /** What the conversion changed, for a comment beside the route. */
  readonly notes: readonly string[];
}

export type ConvertPathResult = { ok: true; converted: ConvertedPath } | { ok: false; error: string };

const WHOLE_PARAM = /^\{([^{}]+)\}$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Pattern params are `[A-Za-z_][A-Za-z0-9_]*`; OpenAPI allows more (`{enterprise-team}`). */
function sanitize(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned === '' ? '_' : cleaned;
}

/**
 * Converts an OpenAPI path template into a route pattern path:
 * - `{name}` filling a segment stays a parameter (renamed if its name is not a
 *   pattern name, e.g. `{enterprise-team}` -> `{enterprise_team}`);
 * - a segment mixing text and parameters (`{base}...{head}`) becomes one parameter
 *   named after them (`{base_head}`): a pattern parameter is a whole segment, so the
 *   text around them is not checked, and the route is no narrower than the segment;
 * - a last-segment parameter named in `catchAll` becomes `{name+}`, for values that
 *   hold `/` (a file path, a git ref).
 */
export function convertPath(openapiPath: string, catchAll: ReadonlySet<string>): ConvertPathResult {
  if (!openapiPath.startsWith('/')) return { ok: false, error: 'path does not start with "/"' };
  const raw = openapiPath === '/' ? [] : openapiPath.slice(1).split('/');
  const params = new Map<string, string>();
  const used = new Set<string>();
  const notes: string[] = [];
  const unique = (base: string): string => {
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };

  const out: string[] = [];
  raw.forEach((segment, i) => {
    const whole = WHOLE_PARAM.exec(segment);
    if (whole?.[1] !== undefined) {
      const original = whole[1];
      const name = unique(PARAM_NAME.test(original) ? original : sanitize(original));
      if (name !== original) notes.push(`{${original}} is {${name}}`);
      params.set(original, name);
      const last = i === raw.length - 1;
      out.push(last && catchAll.has(original) ? `{${name}+}` : `{${name}}`);
      return;
    }
    if (segment.includes('{') || segment.includes('}')) {
      const inner = [...segment.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1] ?? '');
      const name = unique(sanitize(inner.join('_')));
      for (const original of inner) params.set(original, name);
      notes.push(`segment "${segment}" is matched as one parameter {${name}}`);
      out.push(`{${name}}`);
      return;
    }
    out.push(segment);
  });

  const path = `/${out.join('/')}`;
  const parsed = parsePattern(`GET ${path}`);
  if (!parsed.ok) return { ok: false, error: `cannot be a route pattern: ${parsed.error}` };
  return { ok: true, converted: { path, segments: parsed.pattern.segments, params, notes } };
}

/** The request shape of a pattern: equal for two patterns that match the same paths. */
export function shapeKey(segments: readonly PatternSegment[]): string {
  return segments
    .map((s) => (s.kind === 'literal' ? `=${s.value}` : s.kind === 'param' ? '{}' : '{+}'))
    .join('/');
}

/** A concrete path the pattern matches, with `value` for every parameter. */
export function samplePath(segments: readonly PatternSegment[], value: string): string {
  return `/${segments.map((s) => (s.kind === 'literal' ? s.value : value)).join('/')}`;
}
