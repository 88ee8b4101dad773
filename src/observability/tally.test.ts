import { describe, expect, it } from 'vitest';
import { PairTally } from './tally.js';

describe('PairTally', () => {
  it('counts by pair and hands the counts over once', () => {
    const tally = new PairTally();
    tally.add('GET /a', 'allowed');
    tally.add('GET /a', 'allowed');
    tally.add('GET /a', 'denied');
    tally.add('GET /b', 'allowed');
    const seen: [string, string, number][] = [];
    tally.drain((a, b, n) => seen.push([a, b, n]));
    expect(seen).toEqual([
      ['GET /a', 'allowed', 2],
      ['GET /a', 'denied', 1],
      ['GET /b', 'allowed', 1],
    ]);
    const again: unknown[] = [];
    tally.drain((...args) => again.push(args));
    expect(again).toEqual([]);
  });
});
