import { describe, expect, it } from 'vitest';
import { userFromIdentity } from './identity.js';

describe('userFromIdentity', () => {
  it.each([
    ['alice', 'alice'],
    ['Alice', 'alice'],
    ['OCTO-Cat', 'octo-cat'],
    [' bob ', 'bob'],
  ])('maps %j to the login %j', (value, user) => {
    expect(userFromIdentity(value)).toBe(user);
  });

  it.each([
    ['an email address', 'alice@example.com'],
    ['a double hyphen', 'a--b'],
    ['a leading hyphen', '-alice'],
    ['a path', '../alice'],
    ['nothing', ''],
    ['too long', 'a'.repeat(40)],
    ['a number', 42],
    ['no value', undefined],
  ])('names nobody for %s', (_what, value) => {
    expect(userFromIdentity(value)).toBeNull();
  });
});
