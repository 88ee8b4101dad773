import { describe, expect, it } from 'vitest';
import type { Invalidation } from './grant-store.js';
import { decodeInvalidation, encodeInvalidation } from './invalidation-hub.js';

const HASH = 'a'.repeat(64);
const AT = 1_760_000_000_123;

describe('invalidation wire form', () => {
  it.each<Invalidation>([
    { kind: 'token', tokenHash: HASH },
    { kind: 'owner', owner: 'acme' },
    { kind: 'owner', owner: '1234' },
    { kind: 'all' },
  ])('round-trips %o with its publish time', (event) => {
    expect(decodeInvalidation(encodeInvalidation(event, AT))).toEqual({ event, publishedAtMs: AT });
  });

  it('puts the timestamp last: t:{hash}:{ms}', () => {
    expect(encodeInvalidation({ kind: 'token', tokenHash: HASH }, AT + 0.7)).toBe(`t:${HASH}:${AT}`);
  });

  it('still reads the forms sent before messages carried a timestamp', () => {
    expect(decodeInvalidation(`t:${HASH}`)).toEqual({
      event: { kind: 'token', tokenHash: HASH },
      publishedAtMs: null,
    });
    expect(decodeInvalidation('o:acme')).toEqual({
      event: { kind: 'owner', owner: 'acme' },
      publishedAtMs: null,
    });
    expect(decodeInvalidation('o:2024')).toEqual({
      event: { kind: 'owner', owner: '2024' },
      publishedAtMs: null,
    });
    expect(decodeInvalidation('*')).toEqual({ event: { kind: 'all' }, publishedAtMs: null });
  });

  it.each(['', 't:', 'o:', 'x:acme', '*:soon', 't::123', 'tacme', '**'])(
    'does not understand %j (the caller then drops every entry)',
    (message) => {
      expect(decodeInvalidation(message)).toBeNull();
    },
  );
});
