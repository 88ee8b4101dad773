import { describe, expect, it } from 'vitest';
import { hashSecret, isSecret, newSecret } from './session-secret.js';

describe('session secrets', () => {
  it('are 32 random bytes in base64url, never twice the same', () => {
    const a = newSecret();
    const b = newSecret();
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(isSecret(a)).toBe(true);
    expect(a).not.toBe(b);
  });

  it('are stored as their SHA-256 only', () => {
    const secret = newSecret();
    const hash = hashSecret(secret);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(hashSecret(secret)).toBe(hash);
  });

  it('refuse values of another shape before any lookup', () => {
    for (const v of [
      undefined,
      '',
      'x'.repeat(42),
      'x'.repeat(44),
      `${'x'.repeat(42)}=`,
      `${'x'.repeat(42)};`,
    ]) {
      expect(isSecret(v)).toBe(false);
    }
  });
});
