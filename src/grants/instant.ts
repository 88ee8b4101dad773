/**
 * `Date.parse` for the one shape the stores write (`toISOString()`: `YYYY-MM-DDTHH:MM:SS.sssZ`),
 * without the general parser: decisions run on every request and read one to three instants.
 * Anything else, or any field out of range, goes to `Date.parse`, so the result is always the
 * same as `Date.parse(text)` (NaN included: an unparseable instant fails closed in `decide`).
 */
export function parseInstant(text: string): number {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    text.charCodeAt(10) !== 0x54 ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a ||
    text.charCodeAt(19) !== 0x2e ||
    text.charCodeAt(23) !== 0x5a
  ) {
    return Date.parse(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const ms = digits(text, 20, 3);
  // Date.UTC reads years 0-99 as 1900-1999, and Date.parse has its own rules past these ranges.
  if (
    !(year >= 100) ||
    !(month >= 1 && month <= 12) ||
    !(day >= 1 && day <= 31) ||
    !(hour >= 0 && hour <= 23) ||
    !(minute >= 0 && minute <= 59) ||
    !(second >= 0 && second <= 59) ||
    !(ms >= 0)
  ) {
    return Date.parse(text);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** The decimal number in `text[start, start + count)`, or -1 if a character is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * Remembers `parseInstant` results. A token's instants are read on every request that reuses
 * its cached record, and a memo hit costs about half a parse. Direct-mapped: a fixed number of
 * slots, no allocation and no growth; a collision only costs a parse, and a slot is keyed by the
 * full text, so `parse(text)` always equals `parseInstant(text)`.
 *
 * The caller owns it (one per gateway pipeline) and hands it to `decide`, which keeps `decide`
 * free of module state: two pipelines, or two tests, never share a memo.
 */
export class InstantMemo {
  private readonly texts: string[];
  private readonly values: Float64Array;
  private readonly mask: number;

  /** `slots` is a power of two; 1024 holds the instants of a few hundred live tokens. */
  constructor(slots = 1024) {
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0 || slots > 1 << 20) {
      throw new RangeError(`InstantMemo slots must be a power of two up to 2^20, got ${slots}`);
    }
    this.texts = new Array<string>(slots).fill('');
    this.values = new Float64Array(slots);
    this.mask = slots - 1;
  }

  parse(text: string): number {
    const slot = slotHash(text) & this.mask;
    if (this.texts[slot] === text && text !== '') return this.values[slot] as number;
    const ms = parseInstant(text);
    this.texts[slot] = text;
    this.values[slot] = ms;
    return ms;
  }
}

/**
 * Hashes the whole instant: a token's expiry is often its creation plus whole days, so the
 * time-of-day digits alone would put both in one slot.
 */
function slotHash(text: string): number {
  let hash = 0;
  if (text.length === 24) {
    // `YYYY-MM-DDTHH:MM:SS.sssZ`: the month, day, hour, minute, second and millisecond digits.
    hash =
      text.charCodeAt(6) +
      text.charCodeAt(8) * 3 +
      text.charCodeAt(9) * 7 +
      text.charCodeAt(12) * 13 +
      text.charCodeAt(14) * 31 +
      text.charCodeAt(15) * 37 +
      text.charCodeAt(17) * 97 +
      text.charCodeAt(18) * 101 +
      text.charCodeAt(20) * 211 +
      text.charCodeAt(21) * 223 +
      text.charCodeAt(22) * 227;
  } else {
    for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
  }
  return hash ^ (hash >>> 10);
}
