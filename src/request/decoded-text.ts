import { percentByteAt, SPACE } from '../text/ascii.js';
import { parseToken, TOKEN_LENGTH, TOKEN_PREFIXES } from '../tokens/format.js';
import { PLUS } from './param-name.js';

/**
 * Reading percent-encoded text one decoded character at a time, without allocating: `decodeAt`
 * returns the character and the index just past it packed in one number (`next << 8 | char`),
 * so a caller keeps its own position and nothing is shared between calls.
 */
export function decodeAt(raw: string, i: number, end: number, plusIsSpace: boolean): number {
  const byte = percentByteAt(raw, i, end);
  if (byte >= 0) return ((i + 3) << 8) | byte;
  const c = raw.charCodeAt(i);
  return ((i + 1) << 8) | (plusIsSpace && c === PLUS ? SPACE : c & 0xff);
}

export function decodedChar(packed: number): number {
  return packed & 0xff;
}

export function nextIndex(packed: number): number {
  return packed >>> 8;
}

/** Whether a patgate token starts at decoded position `raw[i]`. Allocates only past a `pgt_`/`pgc_` prefix. */
function decodedTokenAt(raw: string, i: number, end: number, plusIsSpace: boolean): boolean {
  let prefixed = false;
  for (const prefix of TOKEN_PREFIXES) {
    let k = i;
    let j = 0;
    while (j < prefix.length && k < end) {
      const packed = decodeAt(raw, k, end, plusIsSpace);
      if (decodedChar(packed) !== prefix.charCodeAt(j)) break;
      j++;
      k = nextIndex(packed);
    }
    if (j === prefix.length) {
      prefixed = true;
      break;
    }
  }
  if (!prefixed) return false;
  let text = '';
  for (let k = i; text.length < TOKEN_LENGTH && k < end; ) {
    const packed = decodeAt(raw, k, end, plusIsSpace);
    text += String.fromCharCode(decodedChar(packed));
    k = nextIndex(packed);
  }
  return parseToken(text).ok;
}

/**
 * Whether `raw[start, end)`, percent-decoded (and with `+` as space in a query), holds a patgate
 * token anywhere: an upstream that decodes before logging would otherwise write it down.
 */
export function containsDecodedToken(raw: string, start: number, end: number, plusIsSpace: boolean): boolean {
  // Every prefix has a `_`, written as is or encoded: most text has neither and is passed at once.
  if (raw.indexOf('_', start) < 0 && raw.indexOf('%', start) < 0) return false;
  for (let i = start; i < end; ) {
    if (decodedTokenAt(raw, i, end, plusIsSpace)) return true;
    i = nextIndex(decodeAt(raw, i, end, plusIsSpace));
  }
  return false;
}
