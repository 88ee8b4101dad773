import { describe, expect, it } from 'vitest';
import { TurnBatcher } from './turn-batcher.js';

/** A runner that records each batch and answers when told to. */
function recordingRunner<I, O>() {
  const batches: {
    inputs: readonly I[];
    answer: (outputs: readonly (O | Error)[]) => void;
    fail: (e: unknown) => void;
  }[] = [];
  const run = (inputs: readonly I[]): Promise<readonly (O | Error)[]> =>
    new Promise((answer, fail) => {
      batches.push({ inputs, answer, fail });
    });
  return { batches, run };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  it('serves the calls of one turn with one run, in order, each with its own answer', async () => {
    const { batches, run } = recordingRunner<number, string>();
    const batcher = new TurnBatcher(16, run);
    const answers = [1, 2, 3].map((n) => batcher.add(n));
    expect(batches).toHaveLength(0);
    await nextTurn();
    expect(batches.map((b) => b.inputs)).toEqual([[1, 2, 3]]);
    batches[0]?.answer(['one', 'two', 'three']);
    expect(await Promise.all(answers)).toEqual(['one', 'two', 'three']);
  });

  it('batches calls from separate callbacks of one turn, though microtasks run between them', async () => {
    const { batches, run } = recordingRunner<number, number>();
    const batcher = new TurnBatcher(16, run);
    // Like two sockets read in one poll phase: Node drains the microtask queue after each.
    const added = new Promise<void>((resolve) => {
      setImmediate(() => void batcher.add(1));
      setImmediate(() => {
        void batcher.add(2);
        resolve();
      });
    });
    await added;
    await nextTurn();
    expect(batches.map((b) => b.inputs)).toEqual([[1, 2]]);
  });

  it('starts a new batch in a later turn', async () => {
    const { batches, run } = recordingRunner<number, number>();
    const batcher = new TurnBatcher(16, run);
    const first = batcher.add(1);
    await nextTurn();
    const second = batcher.add(2);
    await nextTurn();
    expect(batches.map((b) => b.inputs)).toEqual([[1], [2]]);
    batches[1]?.answer([20]);
    batches[0]?.answer([10]);
    expect(await Promise.all([first, second])).toEqual([10, 20]);
  });

  it('sends a batch while an earlier one is still waiting (a hung server costs each batch its own timeout only)', async () => {
    const { batches, run } = recordingRunner<number, number>();
    const batcher = new TurnBatcher(16, run);
    void batcher.add(1);
    await nextTurn();
    void batcher.add(2);
    await nextTurn();
    expect(batches).toHaveLength(2);
  });

  it('splits a turn into batches of at most maxBatch', async () => {
    const { batches, run } = recordingRunner<number, number>();
    const batcher = new TurnBatcher(2, run);
    const answers = [1, 2, 3, 4, 5].map((n) => batcher.add(n));
    await nextTurn();
    expect(batches.map((b) => b.inputs)).toEqual([[1, 2], [3, 4], [5]]);
    for (const b of batches) b.answer(b.inputs.map((n) => n * 10));
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50]);
  });

  it('fails only the call whose answer is an Error', async () => {
    const { batches, run } = recordingRunner<number, number>();
    const batcher = new TurnBatcher(16, run);
    const answers = [1, 2, 3].map((n) => batcher.add(n));
    await nextTurn();
    const broken = new Error('unreadable record');
    batches[0]?.answer([10, broken, 30]);
    expect(await Promise.allSettled(answers)).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: broken },
      { status: 'fulfilled', value: 30 },
    ]);
  });

  it('fails every call of a batch whose run fails', async () => {
    const { batches, run } = recordingRunner<number, number>();
    const batcher = new TurnBatcher(16, run);
    const answers = [1, 2].map((n) => batcher.add(n));
    await nextTurn();
    const down = new Error('store down');
    batches[0]?.fail(down);
    const settled = await Promise.allSettled(answers);
    expect(settled).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
  });

  it('fails every call of a batch whose run throws instead of rejecting', async () => {
    const down = new Error('thrown');
    const batcher = new TurnBatcher<number, number>(16, () => {
      throw down;
    });
    const settled = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it('fails every call when the run answers a different number of outputs', async () => {
    const batcher = new TurnBatcher<number, number>(16, async () => [1]);
    const settled = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
  });

  it('fails every call when the run answers something that is not a list', async () => {
    const batcher = new TurnBatcher<number, number>(
      16,
      async () => ({ length: 2 }) as unknown as readonly number[],
    );
    const settled = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it('refuses a batch size that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new TurnBatcher(bad, async () => [])).toThrow(TypeError);
    }
  });
});
