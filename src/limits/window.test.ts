import { describe, expect, it } from 'vitest';
import { formatWindow, parseWindow, resetSeconds, retryAfterSeconds, windowStart } from './window.js';

describe('parseWindow', () => {
  const read: [string, number][] = [
    ['1s', 1],
    ['30s', 30],
    ['15m', 900],
    ['1h', 3_600],
    ['1d', 86_400],
    ['7d', 604_800],
  ];
  for (const [text, seconds] of read) it(`reads ${text}`, () => expect(parseWindow(text)).toBe(seconds));
  for (const text of ['', '0s', '1', 'h', '01h', '1H', '1w', '8d', '-1h', '1.5h', ' 1h']) {
    it(`refuses ${JSON.stringify(text)}`, () => expect(parseWindow(text)).toBeNull());
  }
  it('formats back', () => {
    for (const seconds of [1, 90, 900, 3_600, 7_200, 86_400])
      expect(parseWindow(formatWindow(seconds))).toBe(seconds);
  });
});

describe('window math', () => {
  it('aligns windows to the epoch, so every instance agrees', () => {
    expect(windowStart(3_600_000 * 5 + 42, 3_600_000)).toBe(3_600_000 * 5);
    expect(windowStart(3_600_000 * 5, 3_600_000)).toBe(3_600_000 * 5);
  });
  it('resets at the window end in epoch seconds', () => {
    expect(resetSeconds(3_600_000 * 5, 3_600_000)).toBe(3_600 * 6);
  });
  it('asks to retry in whole seconds, at least one', () => {
    expect(retryAfterSeconds(3_600_000 * 6 - 1, 3_600_000 * 5, 3_600_000)).toBe(1);
    expect(retryAfterSeconds(3_600_000 * 5, 3_600_000 * 5, 3_600_000)).toBe(3_600);
    expect(retryAfterSeconds(3_600_000 * 5 + 1_500, 3_600_000 * 5, 3_600_000)).toBe(3_599);
  });
});
