import { describe, expect, it } from 'vitest';
import { Throttle } from './throttle.js';

describe('Throttle', () => {
  it('lets one event through per interval and reports how many it held back', () => {
    let now = 1_000;
    const throttle = new Throttle(1_000, () => now);
    expect(throttle.take()).toBe(0);
    expect(throttle.take()).toBe(-1);
    expect(throttle.take()).toBe(-1);
    now += 999;
    expect(throttle.take()).toBe(-1);
    now += 1;
    expect(throttle.take()).toBe(3);
    expect(throttle.take()).toBe(-1);
    now += 5_000;
    expect(throttle.take()).toBe(1);
  });
});
