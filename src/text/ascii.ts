/**
 * Byte-level helpers shared by every reader of request bytes: HTTP names, schemes and
 * percent-encoding are ASCII, and each is compared here one way only.
 */

export const SPACE = 0x20;
export const HTAB = 0x09;

/** The value of one hex digit, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** The byte `%XX` at `text[i]` encodes, or -1 when `text[i]` starts no such triplet before `end`. */
export function percentByteAt(text: string, i: number, end: number = text.length): number {
  if (i + 2 >= end || text.charCodeAt(i) !== 0x25) return -1;
  const high = hexValue(text.charCodeAt(i + 1));
  const low = hexValue(text.charCodeAt(i + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

/** ASCII lower case of one character code; every other code is returned as is. */
export function asciiLower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/**
 * Whether `text[start, start + lower.length)` equals `lower` ignoring ASCII case. `lower` is
 * lower-case ASCII; no other character folds (RFC 9110 §5.1: field names, schemes and media
 * types are case-insensitive in ASCII only).
 */
export function matchesAsciiFolded(text: string, start: number, lower: string): boolean {
  if (text.length - start < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (asciiLower(text.charCodeAt(start + i)) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** `text === lower` ignoring ASCII case. */
export function equalsAsciiFolded(text: string, lower: string): boolean {
  return text.length === lower.length && matchesAsciiFolded(text, 0, lower);
}

export function isOws(c: number): boolean {
  return c === SPACE || c === HTAB;
}

/** RFC 9110 §5.6.2 tchar: the characters of a field name, method, media type or parameter name. */
export function isTchar(c: number): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true;
    default:
      return false;
  }
}
