import { describe, expect, it } from 'vitest';
import { MemoryGrantStore } from '../store/memory-store.js';
import { LastUsedRecorder } from './last-used.js';

describe('LastUsedRecorder', () => {
  it('keeps the latest use per token and writes one batch on flush', async () => {
    const store = new MemoryGrantStore();
    const writes: number[] = [];
    const recordLastUsed = store.recordLastUsed.bind(store);
    store.recordLastUsed = async (batch) => {
      writes.push(batch.size);
      await recordLastUsed(batch);
    };
    const recorder = new LastUsedRecorder(store, { flushIntervalMs: 3_600_000, onError: () => {} });
    recorder.note('tok_a', Date.parse('2026-01-01T00:00:00.000Z'));
    recorder.note('tok_a', Date.parse('2026-01-01T00:00:05.000Z'));
    recorder.note('tok_b', Date.parse('2026-01-02T00:00:00.000Z'));
    expect(await store.getLastUsed('tok_a')).toBeNull();
    await recorder.flush();
    expect(writes).toEqual([2]);
    expect(await store.getLastUsed('tok_a')).toBe('2026-01-01T00:00:05.000Z');
    expect(await store.getLastUsed('tok_b')).toBe('2026-01-02T00:00:00.000Z');
    await recorder.flush();
    expect(writes).toEqual([2]);
    await recorder.close();
  });

  it('reports a failed write and keeps going', async () => {
    const store = new MemoryGrantStore();
    const errors: unknown[] = [];
    store.recordLastUsed = async () => {
      throw new Error('down');
    };
    const recorder = new LastUsedRecorder(store, {
      flushIntervalMs: 3_600_000,
      onError: (e) => errors.push(e),
    });
    recorder.note('tok_a', 0);
    await recorder.flush();
    expect(errors).toHaveLength(1);
    await recorder.close();
  });
});
