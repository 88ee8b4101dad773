import { parsePattern } from '../routes/pattern.js';
import type { RouteMatch, RouteRule } from '../routes/types.js';

const ENCODED_SLASH = /%2f/i;
const ANY_SLASH = /\/|%2f/i;

/** The `{name+}` parameter of a rule, parsed once per rule (only requests holding `%2F` ask). */
const tails = new WeakMap<RouteRule, string | null>();

function tailOf(rule: RouteRule): string | null {
  let tail = tails.get(rule);
  if (tail === undefined) {
    const parsed = parsePattern(rule.pattern);
    const last = parsed.ok ? parsed.pattern.segments.at(-1) : undefined;
    tail = last?.kind === 'catch_all' ? last.name : null;
    tails.set(rule, tail);
  }
  return tail;
}

/**
 * Why a matched request's encoded `/` is refused, or null. Octokit encodes the `/` of a nested
 * `{path}` (`contents/docs%2FREADME.md`); an upstream that decodes before routing reads it as a
 * segment boundary. So `%2F` is allowed only inside the rule's `{name+}` tail, and only where the
 * decoded value has no empty, `.` or `..` segment: then every reading of it names the same
 * resource under the same owner and repository. (Encoded `\`, `.` and NUL are refused everywhere
 * by the target check.)
 */
export function encodedSlashProblem(match: RouteMatch): string | null {
  const tail = tailOf(match.rule);
  for (const name in match.params) {
    const value = match.params[name] as string;
    if (!ENCODED_SLASH.test(value)) continue;
    if (name !== tail) return `an encoded "/" in {${name}}, which is not a {name+} parameter`;
    for (const segment of value.split(ANY_SLASH)) {
      if (segment === '' || segment === '.' || segment === '..') {
        return `{${name}+} decodes to an empty, "." or ".." segment`;
      }
    }
  }
  return null;
}
