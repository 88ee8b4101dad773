import { randomBytes } from 'node:crypto';

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** char code (0..127) -> digit value, or -1. Indexed by char code so parsing allocates nothing. */
const BASE62_VALUE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < BASE62_ALPHABET.length; i++) {
    table[BASE62_ALPHABET.charCodeAt(i)] = i;
  }
  return table;
})();

/** The digit value of one char code, or -1 when it is not base62. */
export function base62Value(code: number): number {
  return code < 128 ? (BASE62_VALUE[code] ?? -1) : -1;
}

// 248 = 4 * 62: bytes at or above it are rejected so that `byte % 62` is uniform.
const REJECT_FROM = 248;

/** `length` characters drawn uniformly from the base62 alphabet with a CSPRNG. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // A little more than needed: about 3% of bytes are rejected.
    const bytes = randomBytes(length - out.length + 8);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i] ?? REJECT_FROM;
      if (b < REJECT_FROM) out += BASE62_ALPHABET.charAt(b % 62);
    }
  }
  return out;
}

/** `value` (a non-negative integer below 62^width) in base62, left-padded with `0` to `width`. */
export function encodeBase62Fixed(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62_ALPHABET.charAt(rest % 62) + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}
