import { SPACE } from '../text/ascii.js';
import { containsDecodedToken, decodeAt, decodedChar, nextIndex } from './decoded-text.js';
import { AMPERSAND, EQUALS, nameCharMatches, SEMICOLON } from './param-name.js';

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

/** Whether the decoded name `raw[start, end)` spells `name` (see `param-name.ts` for the folding). */
function nameIs(raw: string, start: number, end: number, name: string): boolean {
  let i = start;
  let packed = 0;
  // Leading spaces are dropped by PHP and Rack.
  for (;;) {
    if (i >= end) return false;
    packed = decodeAt(raw, i, end, true);
    if (decodedChar(packed) !== SPACE) break;
    i = nextIndex(packed);
  }
  let j = 0;
  for (;;) {
    if (j >= name.length || !nameCharMatches(decodedChar(packed), name.charCodeAt(j))) return false;
    j++;
    i = nextIndex(packed);
    if (i >= end) return j === name.length;
    packed = decodeAt(raw, i, end, true);
  }
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
      if (nameIs(query, start, nameEnd, ACCESS_TOKEN_PARAM)) return refuse(index);
      for (const name of METHOD_OVERRIDE_PARAMS) {
        if (nameIs(query, start, nameEnd, name)) {
          return {
            ok: false,
            reason: 'method_override',
            detail: `query parameter ${index + 1} overrides the request method; send the real method instead`,
          };
        }
      }
      if (containsDecodedToken(query, start, stop, true)) return refuse(index);
    }
    index++;
    start = stop + 1;
  }
  return OK;
}

function refuse(index: number): QueryCheck {
  return {
    ok: false,
    reason: 'token_in_query',
    detail: `query parameter ${index + 1} carries a credential; send it in the Authorization header instead`,
  };
}
