import { parseToken, TOKEN_LENGTH } from '../tokens/format.js';
import {
  AMPERSAND,
  EQUALS,
  hexValue,
  nameCharMatches,
  PERCENT,
  PLUS,
  SEMICOLON,
  SPACE,
} from './param-name.js';

export type QueryRejection = 'token_in_query' | 'method_override';

export type QueryCheck =
  | { readonly ok: true }
  | { readonly ok: false; reason: QueryRejection; detail: string };

const OK: QueryCheck = Object.freeze({ ok: true });

/**
 * Query parameters that frameworks read as the request method: `_method` (Rails
 * Rack::MethodOverride, Laravel, Symfony's http_method_override), and the override header
 * names, which some (Express method-override with a custom getter, Google APIs) accept as
 * parameters too. Any of them lets the upstream run a method other than the one authorized.
 */
const METHOD_OVERRIDE_PARAMS: readonly string[] = [
  '_method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

/** RFC 6750 §2.3: the one standard query parameter for a bearer token, refused whatever it holds. */
const ACCESS_TOKEN_PARAM = 'access_token';

const TOKEN_PREFIXES = ['pgt_', 'pgc_'] as const;

/** Index just past the decoded character at `raw[i]` (set by `decodedAt`). */
let cursor = 0;

/** The character at `raw[i]` after form decoding (`%XX`, `+`); sets `cursor` past it. */
function decodedAt(raw: string, i: number, end: number): number {
  const c = raw.charCodeAt(i);
  if (c === PERCENT && i + 2 < end) {
    const high = hexValue(raw.charCodeAt(i + 1));
    const low = hexValue(raw.charCodeAt(i + 2));
    if (high >= 0 && low >= 0) {
      cursor = i + 3;
      return high * 16 + low;
    }
  }
  cursor = i + 1;
  return c === PLUS ? SPACE : c;
}

/** Whether the decoded name `raw[start, end)` spells `name` (see `param-name.ts` for the folding). */
function nameIs(raw: string, start: number, end: number, name: string): boolean {
  let i = start;
  let c = 0;
  // Leading spaces are dropped by PHP and Rack.
  for (;;) {
    if (i >= end) return false;
    c = decodedAt(raw, i, end);
    if (c !== SPACE) break;
    i = cursor;
  }
  let j = 0;
  for (;;) {
    if (j >= name.length || !nameCharMatches(c, name.charCodeAt(j))) return false;
    j++;
    i = cursor;
    if (i >= end) return j === name.length;
    c = decodedAt(raw, i, end);
  }
}

/** Whether a patgate token starts at decoded position `raw[i]`. Allocates only past a `pgt_`/`pgc_` prefix. */
function tokenAt(raw: string, i: number, end: number): boolean {
  let prefixOk = false;
  for (const prefix of TOKEN_PREFIXES) {
    let k = i;
    let j = 0;
    while (j < prefix.length && k < end && decodedAt(raw, k, end) === prefix.charCodeAt(j)) {
      j++;
      k = cursor;
    }
    if (j === prefix.length) {
      prefixOk = true;
      break;
    }
  }
  if (!prefixOk) return false;
  let text = '';
  let k = i;
  while (text.length < TOKEN_LENGTH && k < end) {
    text += String.fromCharCode(decodedAt(raw, k, end));
    k = cursor;
  }
  return parseToken(text).ok;
}

/**
 * Checks the query part of a checked target (`''` or `?...`, as `checkTarget` returns it). The
 * query is still forwarded byte for byte and never routed on; this only refuses what must never
 * reach the upstream: a credential (it would land in access logs, caches and Referer headers,
 * RFC 6750 §5.3) and a method override (the upstream would run another method than the one
 * authorized). `detail` never repeats any part of the query.
 */
export function checkQuery(query: string): QueryCheck {
  const end = query.length;
  if (end <= 1) return OK;
  let index = 0;
  let start = 1;
  while (start <= end) {
    let stop = start;
    let equals = -1;
    while (stop < end) {
      const c = query.charCodeAt(stop);
      if (c === AMPERSAND || c === SEMICOLON) break;
      if (c === EQUALS && equals < 0) equals = stop;
      stop++;
    }
    if (stop > start) {
      const nameEnd = equals < 0 ? stop : equals;
      if (nameIs(query, start, nameEnd, ACCESS_TOKEN_PARAM)) {
        return refuse('token_in_query', index);
      }
      for (const name of METHOD_OVERRIDE_PARAMS) {
        if (nameIs(query, start, nameEnd, name)) {
          return {
            ok: false,
            reason: 'method_override',
            detail: `query parameter ${index + 1} overrides the request method; send the real method instead`,
          };
        }
      }
      for (let i = start; i < stop; i = cursor) {
        if (tokenAt(query, i, stop)) return refuse('token_in_query', index);
        decodedAt(query, i, stop);
      }
    }
    index++;
    start = stop + 1;
  }
  return OK;
}

function refuse(reason: 'token_in_query', index: number): QueryCheck {
  return {
    ok: false,
    reason,
    detail: `query parameter ${index + 1} carries a credential; send it in the Authorization header instead`,
  };
}
