import { percentByteAt } from '../text/ascii.js';

export type TargetRejection =
  | 'not_origin_form'
  | 'too_long'
  | 'bad_byte'
  | 'encoded_separator'
  | 'dot_segment'
  | 'empty_segment'
  | 'backslash'
  | 'path_parameter'
  | 'fragment'
  | 'bad_percent_encoding';

export type TargetCheck =
  | {
      ok: true;
      /** Exact substring of the input: the bytes authorized are the bytes forwarded. */
      path: string;
      /** `''`, or the exact rest of the input from the first `?`; never interpreted. */
      query: string;
      /**
       * The path holds an encoded `/` (`%2F`): allowed only inside a `{name+}` tail parameter,
       * which the gateway checks once the route is known (`gateway/encoded-slash.ts`).
       */
      encodedSlash: boolean;
    }
  | { ok: false; reason: TargetRejection; detail: string };

export const DEFAULT_MAX_TARGET_LENGTH = 8192;

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const HASH = 0x23;
const SEMICOLON = 0x3b;

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Decoded bytes that must never appear percent-encoded in a path: each one lets the
 * gateway and the upstream split or resolve the path differently.
 * `\`: a segment boundary one side sees and the other does not (CVE-2007-0450); `/` likewise,
 * except inside a tail parameter, where it is checked against the route (see `encodedSlash`).
 * `.`: `%2e%2e` is `..` after decoding. NUL: truncation in C-based upstreams.
 * `%`: double encoding (`%252f` is `%2f` after one decode).
 * `;`, `?`, `#`: delimiters to a framework that decodes before routing (`..%3B` becomes `..;`,
 * a path parameter to Tomcat and Spring: Shiro CVE-2020-13933), never data a route needs.
 * Other controls and DEL: no legitimate path needs them. Bytes >= 0x80 are
 * checked separately: only well-formed UTF-8 passes (see `utf8SequenceLength`).
 */
function isForbiddenEncodedByte(byte: number): boolean {
  return (
    byte === BACKSLASH ||
    byte === DOT ||
    byte === PERCENT ||
    byte === SEMICOLON ||
    byte === QUESTION ||
    byte === HASH ||
    byte < 0x20 ||
    byte === 0x7f
  );
}

/**
 * Percent-encoded non-ASCII must be well-formed UTF-8 (RFC 3629 §4), so that
 * `contents/%C3%A9t%C3%A9.md` works while overlong forms (`%c0%af` read as `/` by
 * lenient decoders, CVE-2000-0884), surrogates and stray continuation bytes are
 * refused. Returns how many `%XX` triplets the sequence starting at `i` spans, or 0.
 */
function utf8SequenceLength(raw: string, i: number, lead: number): number {
  let count: number;
  let min = 0x80;
  let max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) count = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    count = 3;
    if (lead === 0xe0) min = 0xa0;
    else if (lead === 0xed) max = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    count = 4;
    if (lead === 0xf0) min = 0x90;
    else if (lead === 0xf4) max = 0x8f;
  } else return 0;
  for (let k = 1; k < count; k++) {
    const byte = percentByteAt(raw, i + 3 * k);
    // Only the first continuation byte has a narrowed range.
    if (byte < (k === 1 ? min : 0x80) || byte > (k === 1 ? max : 0xbf)) return 0;
  }
  return count;
}

function reject(reason: TargetRejection, detail: string): TargetCheck {
  return { ok: false, reason, detail };
}

/** The segment `raw[start, end)`; `atPathEnd` when it is the last one of the path. */
function segmentProblem(
  raw: string,
  start: number,
  end: number,
  atPathEnd: boolean,
): TargetCheck | undefined {
  const size = end - start;
  if (size === 0) {
    // The root `/` is the only path with an empty segment.
    if (atPathEnd && end === 1) return undefined;
    return atPathEnd
      ? reject('empty_segment', `trailing "/" at offset ${end - 1}`)
      : reject('empty_segment', `empty segment ("//") at offset ${end - 1}`);
  }
  if (raw.charCodeAt(start) === DOT && (size === 1 || (size === 2 && raw.charCodeAt(start + 1) === DOT))) {
    return reject('dot_segment', `"${raw.slice(start, end)}" segment at offset ${start}`);
  }
  return undefined;
}

/**
 * Checks a raw request-target (Node's `req.url`) and splits it into path and query.
 * Anything two reasonable servers could read differently is refused, never repaired
 * (RFC 9112 §3.2: only origin-form is valid for a non-CONNECT, non-OPTIONS-* request
 * to a gateway that is not a forward proxy).
 *
 * Decision on a trailing slash: `/a/` is refused as `empty_segment`. Frameworks
 * disagree on whether it equals `/a` (redirect, strip, or a distinct route), so an
 * authorization for one must not be forwarded as the other.
 *
 * One pass over char codes, no regex and no decoding: this runs on every request.
 */
export function checkTarget(rawTarget: string, maxLength: number = DEFAULT_MAX_TARGET_LENGTH): TargetCheck {
  const length = rawTarget.length;
  if (length > maxLength) return reject('too_long', `request-target is ${length} bytes, limit ${maxLength}`);
  if (length === 0 || rawTarget.charCodeAt(0) !== SLASH) {
    return reject('not_origin_form', 'request-target must be a path starting with "/"');
  }

  let queryStart = -1;
  let segmentStart = 1;
  let encodedSlash = false;
  for (let i = 1; i < length; i++) {
    const c = rawTarget.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return reject('bad_byte', `byte ${hex(c)} at offset ${i}`);
    if (c === HASH) return reject('fragment', `"#" at offset ${i} (a fragment is never sent to a server)`);
    if (queryStart >= 0) continue;
    if (c === SLASH || c === QUESTION) {
      const problem = segmentProblem(rawTarget, segmentStart, i, c === QUESTION);
      if (problem !== undefined) return problem;
      segmentStart = i + 1;
      if (c === QUESTION) queryStart = i;
    } else if (c === BACKSLASH) {
      return reject('backslash', `"\\" at offset ${i}`);
    } else if (c === SEMICOLON) {
      return reject('path_parameter', `";" at offset ${i}`);
    } else if (c === PERCENT) {
      const byte = percentByteAt(rawTarget, i);
      if (byte < 0) {
        return reject('bad_percent_encoding', `"%" at offset ${i} is not followed by two hex digits`);
      }
      if (byte >= 0x80) {
        const count = utf8SequenceLength(rawTarget, i, byte);
        if (count === 0) {
          return reject(
            'bad_percent_encoding',
            `"${rawTarget.slice(i, i + 3)}" at offset ${i} starts no valid UTF-8 sequence`,
          );
        }
        i += 3 * count - 1;
        continue;
      }
      if (byte === SLASH) encodedSlash = true;
      else if (isForbiddenEncodedByte(byte)) {
        return reject(
          'encoded_separator',
          `"${rawTarget.slice(i, i + 3)}" at offset ${i} encodes byte ${hex(byte)}`,
        );
      }
      i += 2;
    }
  }
  if (queryStart < 0) {
    const problem = segmentProblem(rawTarget, segmentStart, length, true);
    if (problem !== undefined) return problem;
  }

  if (queryStart < 0) return { ok: true, path: rawTarget, query: '', encodedSlash };
  return {
    ok: true,
    path: rawTarget.slice(0, queryStart),
    query: rawTarget.slice(queryStart),
    encodedSlash,
  };
}
