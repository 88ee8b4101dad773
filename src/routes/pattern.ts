/**
 * One segment of a route pattern's path.
 * - `literal`: matched byte for byte (case-sensitive) against the raw request segment
 * - `param`: `{name}`, exactly one non-empty segment
 * - `catch_all`: `{name+}`, one or more trailing segments; last only
 */
export type PatternSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'catch_all'; readonly name: string };

export interface ParsedPattern {
  /** Upper-case method token, or `*` for any method. */
  readonly method: string;
  /** Empty for the root path `/`. */
  readonly segments: readonly PatternSegment[];
}

export type PatternParse = { ok: true; pattern: ParsedPattern } | { ok: false; error: string };

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// RFC 9110 §5.6.2 tchar, minus lower-case letters: methods are case-sensitive and
// every registered one is upper case, so `get` is almost certainly a typo.
const METHOD_SYMBOLS = "!#$%&'*+-.^_`|~";

// RFC 3986 pchar without pct-encoded: unreserved / sub-delims / ":" / "@".
// `;` is a sub-delim but is left out: the target check refuses path parameters,
// so a literal holding one could never match.
const LITERAL_SYMBOLS = "-._~!$&'()*+,=:@";

function isMethodToken(method: string): boolean {
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i);
    const upper = c >= 0x41 && c <= 0x5a;
    const digit = c >= 0x30 && c <= 0x39;
    if (!upper && !digit && !METHOD_SYMBOLS.includes(method.charAt(i))) return false;
  }
  return method.length > 0;
}

function literalProblem(segment: string): string | undefined {
  if (segment === '.' || segment === '..') {
    return `dot segment "${segment}" (clients and servers normalise it away)`;
  }
  for (let i = 0; i < segment.length; i++) {
    const ch = segment.charAt(i);
    const c = segment.charCodeAt(i);
    if (ch === '{') return `"{" inside literal segment "${segment}" (a parameter is a whole segment)`;
    if (ch === '}') return `"}" without "{" in segment "${segment}"`;
    if (ch === '%') return `percent-escape in literal segment "${segment}" (write the character itself)`;
    if (ch === ';')
      return `";" in literal segment "${segment}" (path parameters are refused, so it could never match)`;
    if (ch === '?' || ch === '#') return `"${ch}" in the path (a route pattern has no query or fragment)`;
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && !LITERAL_SYMBOLS.includes(ch)) {
      const shown = c >= 0x21 && c <= 0x7e ? `"${ch}"` : `0x${c.toString(16).padStart(2, '0')}`;
      return `character ${shown} is not allowed in literal segment "${segment}"`;
    }
  }
  return undefined;
}

function parseSegment(segment: string, isLast: boolean): PatternSegment | string {
  if (segment === '') {
    return isLast ? 'trailing "/" (empty last segment)' : 'empty segment ("//")';
  }
  if (!segment.startsWith('{')) {
    const problem = literalProblem(segment);
    return problem ?? { kind: 'literal', value: segment };
  }
  if (!segment.endsWith('}') || segment.length < 2) return 'unclosed "{"';
  let inner = segment.slice(1, -1);
  if (inner.includes('{') || inner.includes('}')) return `nested braces in "${segment}"`;
  const catchAll = inner.endsWith('+');
  if (catchAll) inner = inner.slice(0, -1);
  if (inner === '') return `empty parameter name in "${segment}"`;
  if (!PARAM_NAME.test(inner)) {
    return `parameter name "${inner}" must match [A-Za-z_][A-Za-z0-9_]*`;
  }
  if (catchAll && !isLast) return `catch-all "${segment}" must be the last segment`;
  return catchAll ? { kind: 'catch_all', name: inner } : { kind: 'param', name: inner };
}

/** Parses `METHOD /path`; the error says what is wrong, for a message that points at the route. */
export function parsePattern(text: string): PatternParse {
  const space = text.indexOf(' ');
  if (space < 0) return { ok: false, error: 'expected "METHOD /path"' };
  const method = text.slice(0, space);
  const path = text.slice(space + 1);
  if (method === '') return { ok: false, error: 'missing method before the space' };
  if (method !== '*' && !isMethodToken(method)) {
    return method.toUpperCase() !== method && isMethodToken(method.toUpperCase())
      ? { ok: false, error: `method "${method}" must be upper case` }
      : { ok: false, error: `"${method}" is not an HTTP method token or "*"` };
  }
  if (path.startsWith(' ')) return { ok: false, error: 'exactly one space between method and path' };
  if (!path.startsWith('/')) return { ok: false, error: 'path must start with "/"' };
  if (path === '/') return { ok: true, pattern: { method, segments: [] } };

  const raw = path.slice(1).split('/');
  const segments: PatternSegment[] = [];
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    const parsed = parseSegment(raw[i] ?? '', i === raw.length - 1);
    if (typeof parsed === 'string') return { ok: false, error: parsed };
    if (parsed.kind !== 'literal') {
      if (names.has(parsed.name)) return { ok: false, error: `parameter "${parsed.name}" appears twice` };
      names.add(parsed.name);
    }
    segments.push(parsed);
  }
  return { ok: true, pattern: { method, segments } };
}
