import { describe, expect, it } from 'vitest';
import { DEFAULT_RETURN_TO, safeReturnTo } from './return-to.js';

describe('safeReturnTo', () => {
  it.each(['/console/tokens', '/console/tokens/new?name=ci&permissions=issues:read', '/'])(
    'keeps the console path %j',
    (path) => {
      expect(safeReturnTo(path)).toBe(path);
    },
  );

  it.each([
    undefined,
    '',
    'https://evil.example/',
    '//evil.example/x',
    '/\\evil.example',
    'javascript:alert(1)',
    '/a b',
    '/a\r\nSet-Cookie: x=y',
    `/${'a'.repeat(2048)}`,
  ])('refuses %j, going to the default', (value) => {
    expect(safeReturnTo(value)).toBe(DEFAULT_RETURN_TO);
  });
});
