import { describe, expect, it } from 'vitest';
import { ADMITTED } from './bucket.js';
import { Reconciler } from './reconciler.js';

const WINDOW_MS = 60_000;

describe('Reconciler without Redis', () => {
  it('memory: budgets of past windows are dropped as new keys come, so distinct keys do not grow it for good', () => {
    let now = 1_700_000_000_000;
    const reconciler = new Reconciler({
      redis: null,
      keyOf: (subject, start) => `${subject}:${start}`,
      intervalMs: 100,
      now: () => now,
    });
    try {
      for (let i = 0; i < 20_000; i++) {
        reconciler.bucket(`t:${i}:60`, WINDOW_MS).admit(1, 10, now, false);
        // A thousand distinct tokens per window, each used once.
        if (i % 1_000 === 999) now += WINDOW_MS;
      }
      expect(reconciler.size).toBeLessThanOrEqual(2_048);
      // A budget of the current window is kept, with what it spent.
      const live = reconciler.peek('t:19999:60');
      expect(live?.spent).toBe(1);
    } finally {
      reconciler.close();
    }
  });

  it('memory: a budget still in its window is never dropped, however many keys come', () => {
    const now = 1_700_000_000_000;
    const reconciler = new Reconciler({
      redis: null,
      keyOf: (subject, start) => `${subject}:${start}`,
      intervalMs: 100,
      now: () => now,
    });
    try {
      const kept = reconciler.bucket('u:alice:3600', 3_600_000);
      for (let i = 0; i < 10; i++) kept.admit(1, 10, now, false);
      for (let i = 0; i < 5_000; i++) reconciler.bucket(`t:${i}:60`, WINDOW_MS).admit(1, 10, now, false);
      expect(reconciler.peek('u:alice:3600')).toBe(kept);
      // Spent stays spent: a sweep never hands out a window's budget again.
      expect(kept.admit(1, 10, now, false)).not.toBe(ADMITTED);
    } finally {
      reconciler.close();
    }
  });
});
