import * as crypto from 'node:crypto';
import type { TokenKind } from '../grants/token-record.js';
import { base62Value, encodeBase62Fixed, randomBase62 } from './base62.js';
import { crc32Latin1 } from './crc32.js';

/**
 * Token layout, after GitHub's (github.blog 2021-04-05 "Behind GitHub's new
 * authentication token formats"): a kind prefix, 30 random base62 characters
 * (~178 bits), and the CRC-32 of prefix + random part as 6 base62 characters.
 * The checksum lets the gateway refuse typos and guesses without a store lookup;
 * it is not a secret and adds no strength.
 */
export const TOKEN_PREFIX: Readonly<Record<TokenKind, string>> = {
  fine_grained: 'pgt_',
  classic: 'pgc_',
};

/** Every token prefix, for scanners that look for a token inside other text. */
export const TOKEN_PREFIXES: readonly string[] = Object.values(TOKEN_PREFIX);

const PREFIX_LENGTH = 4;
const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;
const BODY_LENGTH = PREFIX_LENGTH + RANDOM_LENGTH;
export const TOKEN_LENGTH = BODY_LENGTH + CHECKSUM_LENGTH;

export type ParsedToken = { readonly ok: true; readonly kind: TokenKind } | { readonly ok: false };

// Shared results: parsing runs on every request and should allocate nothing.
const FINE_GRAINED: ParsedToken = Object.freeze({ ok: true, kind: 'fine_grained' });
const CLASSIC: ParsedToken = Object.freeze({ ok: true, kind: 'classic' });
const NOT_A_TOKEN: ParsedToken = Object.freeze({ ok: false });

export function generateToken(kind: TokenKind): string {
  const body = TOKEN_PREFIX[kind] + randomBase62(RANDOM_LENGTH);
  return body + encodeBase62Fixed(crc32Latin1(body), CHECKSUM_LENGTH);
}

/** Checks length, prefix, charset and checksum. Never throws. */
export function parseToken(text: string): ParsedToken {
  if (typeof text !== 'string' || text.length !== TOKEN_LENGTH) return NOT_A_TOKEN;
  let result: ParsedToken;
  if (text.startsWith(TOKEN_PREFIX.fine_grained)) result = FINE_GRAINED;
  else if (text.startsWith(TOKEN_PREFIX.classic)) result = CLASSIC;
  else return NOT_A_TOKEN;

  for (let i = PREFIX_LENGTH; i < BODY_LENGTH; i++) {
    if (base62Value(text.charCodeAt(i)) < 0) return NOT_A_TOKEN;
  }
  let checksum = 0;
  for (let i = BODY_LENGTH; i < TOKEN_LENGTH; i++) {
    const digit = base62Value(text.charCodeAt(i));
    if (digit < 0) return NOT_A_TOKEN;
    checksum = checksum * 62 + digit;
  }
  // 62^6 > 2^32, so several encodings exist above 2^32; only the canonical one matches.
  return checksum === crc32Latin1(text, BODY_LENGTH) ? result : NOT_A_TOKEN;
}

// `crypto.hash` (Node >= 20.12) skips the Hash object; older runtimes fall back.
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** The store key and log field for a token: SHA-256, lower-case hex. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

const TOKEN_ID_PREFIX = 'tok_';
const TOKEN_ID_RANDOM_LENGTH = 20;
const TOKEN_ID_LENGTH = TOKEN_ID_PREFIX.length + TOKEN_ID_RANDOM_LENGTH;
// Crockford's base32 alphabet, lower-cased: no i, l, o, u to misread when a human copies an id.
const TOKEN_ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Public token id: `tok_` + 20 base32 characters (100 bits). Safe to log and show. */
export function generateTokenId(): string {
  const bytes = crypto.randomBytes(TOKEN_ID_RANDOM_LENGTH);
  let id = TOKEN_ID_PREFIX;
  for (const b of bytes) {
    // 256 is a multiple of 32, so masking is unbiased.
    id += TOKEN_ID_ALPHABET.charAt(b & 31);
  }
  return id;
}

export function isTokenId(text: string): boolean {
  if (typeof text !== 'string' || text.length !== TOKEN_ID_LENGTH || !text.startsWith(TOKEN_ID_PREFIX)) {
    return false;
  }
  for (let i = TOKEN_ID_PREFIX.length; i < TOKEN_ID_LENGTH; i++) {
    if (TOKEN_ID_ALPHABET.indexOf(text.charAt(i)) < 0) return false;
  }
  return true;
}
