import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADMITTED, Bucket, SPENT, type SyncRequest, WAIT } from './bucket.js';

const HOUR = 3_600_000;
const T0 = HOUR * 100;

/** A Redis count as SYNC_LUA keeps it, for driving buckets without a server. */
class SharedCount {
  count = 0;
  apply(base: number, want: number, limit: number): [number, number] {
    this.count = Math.max(0, this.count + base);
    const grant = want > 0 && this.count < limit ? Math.min(want, limit - this.count) : 0;
    this.count += grant;
    return [this.count, grant];
  }
}

function sync(bucket: Bucket, shared: SharedCount, now: number): void {
  const request = bucket.prepare(now, 100);
  if (request === null) return;
  const [count, grant] = shared.apply(request.base, request.want, request.limit);
  bucket.acknowledge(count, grant);
}

describe('Bucket, local-only', () => {
  it('admits up to the limit, then refuses', () => {
    const bucket = new Bucket('u:alice:3600', HOUR);
    for (let i = 0; i < 10; i++) expect(bucket.admit(1, 10, T0, false)).toBe(ADMITTED);
    expect(bucket.admit(1, 10, T0, false)).toBe(SPENT);
    expect(bucket.used).toBe(10);
  });
  it('charges costs whole: a request dearer than what is left is refused', () => {
    const bucket = new Bucket('k', HOUR);
    expect(bucket.admit(5, 7, T0, false)).toBe(ADMITTED);
    expect(bucket.admit(5, 7, T0, false)).toBe(SPENT);
    expect(bucket.admit(2, 7, T0, false)).toBe(ADMITTED);
  });
  it('starts again in the next window', () => {
    const bucket = new Bucket('k', HOUR);
    expect(bucket.admit(3, 3, T0, false)).toBe(ADMITTED);
    expect(bucket.admit(1, 3, T0 + HOUR - 1, false)).toBe(SPENT);
    expect(bucket.admit(1, 3, T0 + HOUR, false)).toBe(ADMITTED);
    expect(bucket.used).toBe(1);
  });
  it('refuses a request dearer than the whole limit', () => {
    expect(new Bucket('k', HOUR).admit(6, 5, T0, false)).toBe(SPENT);
  });
});

describe('Bucket, shared', () => {
  it('waits for its first reservation, then spends from it without asking', () => {
    const shared = new SharedCount();
    const bucket = new Bucket('k', HOUR);
    expect(bucket.admit(1, 1000, T0, true)).toBe(WAIT);
    sync(bucket, shared, T0);
    expect(bucket.claimed).toBeGreaterThanOrEqual(1);
    expect(bucket.admit(1, 1000, T0, true)).toBe(ADMITTED);
    expect(shared.count).toBe(bucket.claimed);
  });
  it('says spent once the shared count is at the limit', () => {
    const shared = new SharedCount();
    shared.count = 1000;
    const bucket = new Bucket('k', HOUR);
    expect(bucket.admit(1, 1000, T0, true)).toBe(WAIT);
    sync(bucket, shared, T0);
    expect(bucket.admit(1, 1000, T0, true)).toBe(SPENT);
    expect(bucket.used).toBe(1000);
  });
  it('gives back what it holds when idle', () => {
    const shared = new SharedCount();
    const bucket = new Bucket('k', HOUR);
    bucket.admit(1, 1000, T0, true);
    sync(bucket, shared, T0);
    expect(bucket.admit(1, 1000, T0 + 1, true)).toBe(ADMITTED);
    sync(bucket, shared, T0 + 100);
    sync(bucket, shared, T0 + 200);
    expect(shared.count).toBe(1);
    expect(bucket.claimed).toBe(1);
  });
  it('settles points counted in local-only mode once Redis answers again', () => {
    const shared = new SharedCount();
    const bucket = new Bucket('k', HOUR);
    for (let i = 0; i < 7; i++) bucket.admit(1, 1000, T0, false);
    sync(bucket, shared, T0 + 100);
    expect(shared.count).toBeGreaterThanOrEqual(7);
    expect(bucket.claimed - bucket.spent).toBe(shared.count - 7);
  });
  it('keeps a failed give-back given, and sends unconfirmed spending again', () => {
    const shared = new SharedCount();
    const bucket = new Bucket('k', HOUR);
    for (let i = 0; i < 3; i++) bucket.admit(1, 100, T0, false);
    const request = bucket.prepare(T0, 100);
    expect(request?.base).toBe(3);
    bucket.fail();
    sync(bucket, shared, T0 + 100);
    expect(shared.count).toBeGreaterThanOrEqual(3);
  });

  it('spends what a waiting request was granted, though another reconcile follows at once', () => {
    // The reconciler runs a round queued during the waiter's round (the interval timer fired)
    // before the waiter continues: that round gave the last point back, and the waiter was
    // refused on the "spent" it had just caused.
    const shared = new SharedCount();
    shared.count = 39;
    const bucket = new Bucket('k', HOUR);
    expect(bucket.admit(1, 40, T0, true)).toBe(WAIT);
    sync(bucket, shared, T0);
    expect(shared.count).toBe(40);
    expect(bucket.prepare(T0 + 1, 100)).toBeNull();
    expect(bucket.admit(1, 40, T0 + 1, true)).toBe(ADMITTED);
  });
  it('asks again rather than refuse while it gives points back', () => {
    const shared = new SharedCount();
    shared.count = 39;
    const bucket = new Bucket('k', HOUR);
    bucket.admit(1, 40, T0, true);
    sync(bucket, shared, T0);
    // Idle for an interval: the point goes back, and the answer is still on its way.
    const giveBack = bucket.prepare(T0 + 100, 100);
    expect(giveBack?.base).toBe(-1);
    expect(bucket.admit(1, 40, T0 + 101, true)).toBe(WAIT);
    const [count, grant] = shared.apply(giveBack?.base ?? 0, giveBack?.want ?? 0, 40);
    bucket.acknowledge(count, grant);
    sync(bucket, shared, T0 + 102);
    expect(bucket.admit(1, 40, T0 + 102, true)).toBe(ADMITTED);
  });

  it('lets one instance alone spend its whole limit, whatever the reconciles do meanwhile', () => {
    // Reconciles start and answer at any time relative to requests (an answer arrives one
    // round trip after its start); a refusal is right only when the limit leaves no room.
    type Step =
      | { readonly kind: 'admit'; readonly cost: number }
      | { readonly kind: 'start' }
      | { readonly kind: 'answer' };
    const step = fc.oneof(
      {
        arbitrary: fc.record({ kind: fc.constant('admit' as const), cost: fc.integer({ min: 1, max: 3 }) }),
        weight: 2,
      },
      fc.record({ kind: fc.constant('start' as const) }),
      fc.record({ kind: fc.constant('answer' as const) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.tuple(step, fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120 }))), {
          maxLength: 60,
        }),
        (limit, steps: [Step, number][]) => {
          const shared = new SharedCount();
          const bucket = new Bucket('k', HOUR);
          let inFlight: SyncRequest | null = null;
          let now = T0;
          for (const [s, dt] of steps) {
            now += dt;
            if (s.kind === 'start') {
              inFlight ??= bucket.prepare(now, 100);
            } else if (s.kind === 'answer') {
              if (inFlight !== null) {
                const [count, grant] = shared.apply(inFlight.base, inFlight.want, inFlight.limit);
                bucket.acknowledge(count, grant);
                inFlight = null;
              }
            } else if (bucket.admit(s.cost, limit, now, true) === SPENT) {
              expect(bucket.spent + s.cost, `refused with ${bucket.spent} of ${limit} spent`).toBeGreaterThan(
                limit,
              );
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never lets instances together spend past the limit (any interleaving)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 5 }), fc.boolean()), {
          maxLength: 600,
        }),
        (limit, steps) => {
          const shared = new SharedCount();
          const buckets = [new Bucket('k', HOUR), new Bucket('k', HOUR), new Bucket('k', HOUR)];
          let now = T0;
          let admitted = 0;
          for (const [which, cost, reconcile] of steps) {
            now += 3;
            const bucket = buckets[which] as Bucket;
            if (reconcile) sync(bucket, shared, now);
            else if (bucket.admit(cost, limit, now, true) === ADMITTED) admitted += cost;
          }
          expect(admitted).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });
});
