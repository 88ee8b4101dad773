import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from './session-memory-store.js';
import { type ConsoleSession, SIGN_IN_TTL_MS, sessionState } from './session-store.js';

const limits = { idleMs: 60_000, absoluteMs: 3_600_000 };

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

function session(at: number, user = 'alice'): ConsoleSession {
  return { user, csrfToken: 'c'.repeat(43), createdAt: at, lastSeenAt: at };
}

describe('sessionState', () => {
  const s = session(0);
  it.each([
    [0, 'live'],
    [limits.idleMs - 1, 'live'],
    [limits.idleMs, 'idle'],
    [limits.absoluteMs, 'expired'],
  ])('at +%i ms is %s', (at, state) => {
    expect(sessionState(s, at, limits)).toBe(state);
  });

  it('counts the absolute limit from sign-in however recent the last use', () => {
    expect(sessionState({ ...s, lastSeenAt: limits.absoluteMs - 1 }, limits.absoluteMs, limits)).toBe(
      'expired',
    );
  });
});

describe('MemorySessionStore', () => {
  it('ends a session left idle for the idle limit', async () => {
    const c = clock();
    const store = new MemorySessionStore({ limits, now: c.now });
    await store.create('h', session(c.now()));
    c.advance(limits.idleMs - 1);
    expect(await store.resume('h')).not.toBeNull();
    c.advance(limits.idleMs);
    expect(await store.resume('h')).toBeNull();
    // Gone for good, not merely refused once.
    c.advance(-limits.idleMs);
    expect(await store.resume('h')).toBeNull();
  });

  it('restarts the idle clock on every use, but not past the absolute limit', async () => {
    const c = clock();
    const store = new MemorySessionStore({ limits, now: c.now });
    await store.create('h', session(c.now()));
    const step = limits.idleMs / 2;
    for (let t = step; t < limits.absoluteMs; t += step) {
      c.advance(step);
      expect(await store.resume('h'), `at +${t} ms`).not.toBeNull();
    }
    c.advance(step);
    expect(await store.resume('h')).toBeNull();
  });

  it('ends a session on sign-out', async () => {
    const store = new MemorySessionStore({ limits });
    await store.create('h', session(Date.now()));
    await store.end('h');
    expect(await store.resume('h')).toBeNull();
  });

  it('hands a started sign-in out once, and not after its time', async () => {
    const c = clock();
    const store = new MemorySessionStore({ limits, now: c.now });
    const pending = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/' };
    await store.saveSignIn('a', pending);
    expect(await store.takeSignIn('a')).toEqual(pending);
    expect(await store.takeSignIn('a')).toBeNull();
    await store.saveSignIn('b', pending);
    c.advance(SIGN_IN_TTL_MS);
    expect(await store.takeSignIn('b')).toBeNull();
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => new MemorySessionStore({ limits: { idleMs: 0, absoluteMs: 1 } })).toThrow(TypeError);
    expect(() => new MemorySessionStore({ limits: { idleMs: 1.5, absoluteMs: 10 } })).toThrow(TypeError);
  });
});
