import { parseToken, TOKEN_LENGTH, TOKEN_PREFIXES } from './format.js';

/** Every prefix ends in `_` at the same offset: where a scan finds a `_`, a prefix may end. */
const PREFIX_LENGTH = (TOKEN_PREFIXES[0] as string).length;

/**
 * Whether a well-formed patgate token (a known prefix, valid checksum) appears anywhere in
 * `text`, as written. Runs on every header value the gateway reads, so it looks for the `_` of a
 * prefix with the native `indexOf` and parses only where a prefix stands.
 */
export function containsToken(text: string): boolean {
  if (text.length < TOKEN_LENGTH) return false;
  let underscore = text.indexOf('_', PREFIX_LENGTH - 1);
  while (underscore >= 0) {
    const start = underscore - PREFIX_LENGTH + 1;
    if (start + TOKEN_LENGTH > text.length) return false;
    for (const prefix of TOKEN_PREFIXES) {
      if (text.startsWith(prefix, start) && parseToken(text.slice(start, start + TOKEN_LENGTH)).ok)
        return true;
    }
    underscore = text.indexOf('_', underscore + 1);
  }
  return false;
}
