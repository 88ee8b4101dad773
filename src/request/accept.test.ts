import { describe, expect, it } from 'vitest';
import { prefersPlainJson } from './accept.js';

describe('prefersPlainJson', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['*/*', false],
    ['application/json', true],
    ['application/vnd.github+json', true],
    ['application/vnd.github.v3+json', true],
    ['application/json, application/problem+json', false],
    ['application/json;q=0.5, application/problem+json', false],
    ['application/problem+json;q=0.4, application/json', true],
    // The most specific range decides: a type refused with q=0 stays refused.
    ['application/problem+json;q=0, */*', true],
    ['application/json;q=0, */*', false],
    ['text/html', false],
    ['application/json; q=abc', false],
  ])('%j -> %s', (accept, expected) => {
    expect(prefersPlainJson(accept)).toBe(expected);
  });
});
