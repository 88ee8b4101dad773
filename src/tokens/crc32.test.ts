import { describe, expect, it } from 'vitest';
import { crc32Latin1 } from './crc32.js';

describe('crc32Latin1', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('matches the IEEE check value for %j', (text, expected) => {
    expect(crc32Latin1(text)).toBe(expected);
  });

  it('covers only the first `end` characters', () => {
    expect(crc32Latin1('123456789xyz', 9)).toBe(0xcbf43926);
  });
});
