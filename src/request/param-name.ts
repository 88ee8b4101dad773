import { asciiLower, SPACE } from '../text/ascii.js';

/**
 * How frameworks read a form or query parameter *name*, reduced to what matters for spotting
 * a dangerous one (`_method`, `access_token`) however it is spelled:
 * - percent-decoding and `+` as space (WHATWG application/x-www-form-urlencoded);
 * - PHP drops leading spaces, then turns ` `, `.` and `[` into `_` (php_register_variable_ex),
 *   so `?.method=DELETE` is `_method` to Laravel and Symfony;
 * - Rack skips spaces after a separator (its split pattern is `[&;]` then any spaces);
 * - names are compared ignoring ASCII case, which is stricter than any of them.
 * `&` and `;` both separate parameters: Rack and Python before 3.9.2 split on `;` too
 * (CVE-2021-23336), so a check that only splits on `&` can be walked around.
 */

export const AMPERSAND = 0x26;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const PERCENT = 0x25;
export const PLUS = 0x2b;
const UNDERSCORE = 0x5f;
const DOT = 0x2e;
const OPEN_BRACKET = 0x5b;

/** `expected` is lower-case ASCII; `c` is one decoded character of a parameter name. */
export function nameCharMatches(c: number, expected: number): boolean {
  if (expected === UNDERSCORE) return c === UNDERSCORE || c === DOT || c === SPACE || c === OPEN_BRACKET;
  return asciiLower(c) === expected;
}

/**
 * Incremental matcher of one decoded parameter name against one lower-case name. Feed it
 * decoded characters with `next`; `matched` tells whether everything fed so far spells the name
 * exactly. Leading spaces are skipped (PHP, Rack).
 */
export class ParamNameMatcher {
  readonly #name: string;
  #position = 0;
  #failed = false;
  #started = false;

  constructor(name: string) {
    this.#name = name;
  }

  reset(): void {
    this.#position = 0;
    this.#failed = false;
    this.#started = false;
  }

  next(c: number): void {
    if (this.#failed) return;
    if (!this.#started) {
      if (c === SPACE) return;
      this.#started = true;
    }
    const name = this.#name;
    if (this.#position >= name.length || !nameCharMatches(c, name.charCodeAt(this.#position))) {
      this.#failed = true;
      return;
    }
    this.#position++;
  }

  get matched(): boolean {
    return !this.#failed && this.#position === this.#name.length;
  }
}
