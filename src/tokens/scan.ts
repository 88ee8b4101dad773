import { parseToken, TOKEN_LENGTH } from './format.js';

const UNDERSCORE = 0x5f;
const P = 0x70;
const G = 0x67;
const T = 0x74;
const C = 0x63;

/**
 * Whether a well-formed patgate token (`pgt_`/`pgc_`, valid checksum) appears anywhere in `text`,
 * as written. Runs on every header value the gateway forwards, so it looks for the `_` of a prefix
 * with the native `indexOf` and parses only where a prefix stands.
 */
export function containsToken(text: string): boolean {
  if (text.length < TOKEN_LENGTH) return false;
  let underscore = text.indexOf('_', 3);
  while (underscore >= 0 && underscore - 3 + TOKEN_LENGTH <= text.length) {
    const start = underscore - 3;
    const kind = text.charCodeAt(underscore - 1);
    if (
      text.charCodeAt(start) === P &&
      text.charCodeAt(start + 1) === G &&
      (kind === T || kind === C) &&
      text.charCodeAt(underscore) === UNDERSCORE &&
      parseToken(text.slice(start, start + TOKEN_LENGTH)).ok
    ) {
      return true;
    }
    underscore = text.indexOf('_', underscore + 1);
  }
  return false;
}
