import { describe, expect, it } from 'vitest';
import { timingSafeEqualString } from './constant-time.js';

describe('timingSafeEqualString', () => {
  it.each([
    ['secret', 'secret', true],
    ['', '', true],
    ['é', 'é', true],
    ['secret', 'Secret', false],
    ['secret', 'secret ', false],
    ['secret', 'secre', false],
    ['', 'secret', false],
    ['secret', '', false],
    ['a'.repeat(1000), 'a'.repeat(999), false],
  ])('%j vs %j -> %s', (a, b, expected) => {
    expect(timingSafeEqualString(a, b)).toBe(expected);
  });
});
