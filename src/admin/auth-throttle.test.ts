import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './auth-throttle.js';

describe('AuthThrottle', () => {
  it('refuses an address once it used up its failures, for the rest of the window', async () => {
    const throttle = new AuthThrottle({ maxFailures: 3, windowSeconds: 60 });
    for (let i = 1; i <= 2; i++) {
      expect(await throttle.fail('10.0.0.1')).toBeNull();
      expect(await throttle.retryAfterSeconds('10.0.0.1')).toBeNull();
    }
    const blockedFor = await throttle.fail('10.0.0.1');
    expect(blockedFor).toBeGreaterThan(55);
    expect(blockedFor).toBeLessThanOrEqual(60);
    expect(await throttle.retryAfterSeconds('10.0.0.1')).toBe(blockedFor);
    // Another address is not affected.
    expect(await throttle.retryAfterSeconds('10.0.0.2')).toBeNull();
  });

  it('reports the block once, on the failure that starts it', async () => {
    const throttle = new AuthThrottle({ maxFailures: 1, windowSeconds: 60 });
    expect(await throttle.fail('a')).not.toBeNull();
    expect(await throttle.fail('a')).toBeNull();
    expect(await throttle.retryAfterSeconds('a')).not.toBeNull();
  });

  it('rejects options that cannot work', () => {
    expect(() => new AuthThrottle({ maxFailures: 0, windowSeconds: 60 })).toThrow(/maxFailures/);
    expect(() => new AuthThrottle({ maxFailures: 10, windowSeconds: 0.5 })).toThrow(/windowSeconds/);
  });
});
