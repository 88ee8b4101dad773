import { hexValue, isOws, matchesAsciiFolded, SPACE } from '../text/ascii.js';
import { AMPERSAND, EQUALS, ParamNameMatcher, PERCENT, PLUS, SEMICOLON } from './param-name.js';

/**
 * Which request bodies a framework may read `_method` from: Rack::MethodOverride (Rails)
 * reads it from the parsed POST body, and Rack parses a POST with no Content-Type as a form;
 * Laravel and Symfony read it from urlencoded and multipart bodies, and Laravel from a JSON
 * body too (its input source is the JSON, and Symfony's getMethod() reads `_method` from it).
 */
export type FormKind = 'urlencoded' | 'multipart' | 'json' | null;

const URLENCODED = 'application/x-www-form-urlencoded';
const MULTIPART = 'multipart/form-data';

/** The form kind of a request body from its method and Content-Type, without allocating. */
export function formKindOf(method: string, contentType: string | undefined): FormKind {
  if (contentType === undefined) return method === 'POST' ? 'urlencoded' : null;
  if (startsWithMediaType(contentType, URLENCODED)) return 'urlencoded';
  if (startsWithMediaType(contentType, MULTIPART)) return 'multipart';
  // Symfony honours `_method` on POST only.
  if (isJsonType(contentType)) return method === 'POST' ? 'json' : null;
  return null;
}

/** `application/json` or any `+json` type, parameters aside. */
function isJsonType(value: string): boolean {
  const type = value.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** Whether `value` is `type` (ASCII case-insensitive) followed by nothing, `;`, or whitespace. */
function startsWithMediaType(value: string, type: string): boolean {
  let i = 0;
  while (i < value.length && isOws(value.charCodeAt(i))) i++;
  if (!matchesAsciiFolded(value, i, type)) return false;
  const after = i + type.length;
  if (after === value.length) return true;
  const c = value.charCodeAt(after);
  return c === SEMICOLON || isOws(c);
}

const METHOD_PARAM = '_method';

// A multipart field name as a part's Content-Disposition may spell it (RFC 7578 §4.2), as PHP's
// parser reads it (whitespace around `=`, double, single or no quotes) and with its name
// mangling of the first character (see `param-name.ts`). Matched lower-cased. A name cut by the
// end of a chunk is matched with the next one, from the kept tail.
const MULTIPART_METHOD = /name\s*=\s*["']?[_. [\]]method(?:["'\s;]|$)/;
// A JSON key `_method`, `_` written as is or escaped.
const JSON_METHOD = /"(?:_|\\u005[fF])method"\s*:/;
const NEEDLE_TAIL = 48;

/**
 * Watches a streamed form body for a `_method` field, one chunk at a time, so that a POST the
 * gateway authorized cannot become a DELETE in the upstream. `push` returns true as soon as the
 * field is seen; the caller must then stop the body before that chunk is forwarded.
 */
export class FormMethodOverrideScanner {
  readonly #kind: 'urlencoded' | 'multipart' | 'json';
  readonly #name = new ParamNameMatcher(METHOD_PARAM);
  #inName = true;
  /** 0: no escape; 1: after `%`; 2: after `%X`. */
  #escape = 0;
  #escapeHigh = 0;
  #tail = '';

  constructor(kind: 'urlencoded' | 'multipart' | 'json') {
    this.#kind = kind;
  }

  push(chunk: Buffer): boolean {
    if (this.#kind === 'urlencoded') return this.#pushUrlencoded(chunk);
    return this.#pushText(chunk, this.#kind === 'multipart' ? MULTIPART_METHOD : JSON_METHOD);
  }

  #pushUrlencoded(chunk: Buffer): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === AMPERSAND || byte === SEMICOLON) {
        if (this.#inName && this.#name.matched) return true;
        this.#name.reset();
        this.#inName = true;
        this.#escape = 0;
        continue;
      }
      if (!this.#inName) continue;
      if (byte === EQUALS) {
        if (this.#name.matched) return true;
        this.#inName = false;
        continue;
      }
      this.#feedName(byte);
    }
    // A name still being read at the end of a chunk is decided with the next one. A `_method`
    // ending the body with no `=` carries no value, and no framework overrides with it.
    return false;
  }

  /** Decodes `%XX` and `+` across chunk boundaries. */
  #feedName(byte: number): void {
    if (this.#escape === 0) {
      if (byte === PERCENT) this.#escape = 1;
      else this.#name.next(byte === PLUS ? SPACE : byte);
      return;
    }
    const digit = hexValue(byte);
    if (digit < 0) {
      // A literal `%`: no name containing one is dangerous, so the match simply fails.
      this.#escape = 0;
      this.#name.next(PERCENT);
      return;
    }
    if (this.#escape === 1) {
      this.#escapeHigh = digit;
      this.#escape = 2;
      return;
    }
    this.#escape = 0;
    this.#name.next(this.#escapeHigh * 16 + digit);
  }

  #pushText(chunk: Buffer, pattern: RegExp): boolean {
    // Latin-1 keeps one character per byte, so a name split across chunks is found in the tail.
    const raw = this.#tail + chunk.toString('latin1');
    const text = this.#kind === 'multipart' ? raw.toLowerCase() : raw;
    if (pattern.test(text)) return true;
    this.#tail = text.slice(Math.max(0, text.length - NEEDLE_TAIL));
    return false;
  }
}
