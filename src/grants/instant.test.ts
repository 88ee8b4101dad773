import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InstantMemo, parseInstant } from './instant.js';

describe('parseInstant', () => {
  const cases: [string, string][] = [
    ['a store instant', '2025-06-01T12:34:56.789Z'],
    ['the epoch', '1970-01-01T00:00:00.000Z'],
    ['a leap day', '2024-02-29T23:59:59.999Z'],
    ['year 100, the first Date.UTC reads as written', '0100-01-01T00:00:00.000Z'],
    ['year 99, which Date.UTC would read as 1999', '0099-01-01T00:00:00.000Z'],
    ['month 13', '2025-13-01T00:00:00.000Z'],
    ['hour 24', '2025-06-01T24:00:00.000Z'],
    ['day 31 of a 30-day month', '2025-06-31T00:00:00.000Z'],
    ['a non-digit', '2025-06-0xT00:00:00.000Z'],
    ['no milliseconds', '2025-06-01T00:00:00Z'],
    ['an offset', '2025-06-01T00:00:00.000+02:00'],
    ['empty', ''],
    ['not a date', 'yesterday'],
  ];
  for (const [name, text] of cases) {
    it(`equals Date.parse for ${name} (${JSON.stringify(text)})`, () => {
      expect(Object.is(parseInstant(text), Date.parse(text))).toBe(true);
    });
  }

  it('equals Date.parse for every toISOString() and for 24-character near-misses', () => {
    const iso = fc
      .date({ min: new Date(-62e12), max: new Date(253e12), noInvalidDate: true })
      .map((d) => d.toISOString());
    const mutated = fc
      .tuple(iso, fc.nat(23), fc.constantFrom('0', '9', 'x', '-', ':', 'T', 'Z', '.', ' '))
      .map(([text, i, c]) => `${text.slice(0, i)}${c}${text.slice(i + 1)}`);
    fc.assert(
      fc.property(fc.oneof(iso, mutated), (text) => {
        expect(Object.is(parseInstant(text), Date.parse(text))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('InstantMemo', () => {
  it('returns what parseInstant returns, through hits, misses and collisions', () => {
    const memo = new InstantMemo(4);
    const texts = fc.oneof(
      fc.constantFrom('2025-06-01T00:00:00.000Z', '2025-06-02T00:00:00.000Z', '', 'nope'),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
    fc.assert(
      fc.property(fc.array(texts, { maxLength: 20 }), (batch) => {
        for (const text of batch) expect(Object.is(memo.parse(text), parseInstant(text))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('does not answer one text with another that shares its slot', () => {
    // One slot: every text collides.
    const memo = new InstantMemo(1);
    expect(memo.parse('2025-06-01T00:00:00.000Z')).toBe(Date.UTC(2025, 5, 1));
    expect(memo.parse('2030-01-01T00:00:00.000Z')).toBe(Date.UTC(2030, 0, 1));
    expect(memo.parse('2025-06-01T00:00:00.000Z')).toBe(Date.UTC(2025, 5, 1));
  });

  it('keeps two memos apart', () => {
    const a = new InstantMemo(1);
    const b = new InstantMemo(1);
    a.parse('2025-06-01T00:00:00.000Z');
    expect(b.parse('2030-01-01T00:00:00.000Z')).toBe(Date.UTC(2030, 0, 1));
    expect(a.parse('2025-06-01T00:00:00.000Z')).toBe(Date.UTC(2025, 5, 1));
  });

  it('refuses a slot count that is not a power of two', () => {
    for (const slots of [0, 3, 1000, -4, 1.5, 2 ** 21]) {
      expect(() => new InstantMemo(slots)).toThrow(RangeError);
    }
  });
});
