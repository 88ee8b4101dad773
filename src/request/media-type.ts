import { isOws, isTchar } from '../text/ascii.js';

const SLASH = 0x2f;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * RFC 9110 §8.3.1: `type "/" subtype *( OWS ";" OWS [ parameter ] )`, parameter values a token or
 * a quoted-string. Anything else is refused, not repaired: parsers disagree on it, and the form
 * scanner must read the body as the upstream will (Rack and PHP cut
 * `application/x-www-form-urlencoded,x` at the comma and parse a form).
 */
export function isValidMediaType(value: string): boolean {
  const end = value.length;
  let i = token(value, 0, end);
  if (i === 0 || i >= end || value.charCodeAt(i) !== SLASH) return false;
  const subtype = i + 1;
  i = token(value, subtype, end);
  if (i === subtype) return false;
  for (;;) {
    while (i < end && isOws(value.charCodeAt(i))) i++;
    if (i === end) return true;
    if (value.charCodeAt(i) !== SEMICOLON) return false;
    i++;
    while (i < end && isOws(value.charCodeAt(i))) i++;
    if (i === end) return true;
    if (value.charCodeAt(i) === SEMICOLON) continue;
    const name = i;
    i = token(value, name, end);
    if (i === name || i >= end || value.charCodeAt(i) !== EQUALS) return false;
    i++;
    if (i < end && value.charCodeAt(i) === DQUOTE) {
      i = quotedStringEnd(value, i, end);
      if (i < 0) return false;
    } else {
      const start = i;
      i = token(value, start, end);
      if (i === start) return false;
    }
  }
}

/** Index past the run of tchar starting at `start`. */
function token(value: string, start: number, end: number): number {
  let i = start;
  while (i < end && isTchar(value.charCodeAt(i))) i++;
  return i;
}

/** Index past the quoted-string opening at `start`, or -1 (RFC 9110 §5.6.4). */
function quotedStringEnd(value: string, start: number, end: number): number {
  for (let i = start + 1; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      i++;
      if (i >= end) return -1;
      continue;
    }
    // qdtext: HTAB, SP, visible ASCII but `"` and `\`, obs-text.
    if (c !== 0x09 && (c < 0x20 || c === 0x7f || c > 0xff)) return -1;
  }
  return -1;
}
