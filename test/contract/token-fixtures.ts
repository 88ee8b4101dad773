import { randomBytes } from 'node:crypto';
import type { ClassicTokenRecord, FineGrainedTokenRecord } from '../../src/grants/token-record.js';
import type { GrantStore, Invalidation } from '../../src/store/grant-store.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A random SHA-256-shaped hash: tests never depend on the token format. */
export function randomHash(): string {
  return randomBytes(32).toString('hex');
}

export function randomId(): string {
  let id = 'tok_';
  for (const byte of randomBytes(20)) id += BASE32[byte % 32];
  return id;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function fineGrained(overrides: Partial<FineGrainedTokenRecord> = {}): FineGrainedTokenRecord {
  return {
    kind: 'fine_grained',
    id: randomId(),
    user: 'alice',
    name: 'ci deploy',
    status: 'active',
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: new Date(Date.now() + 30 * DAY_MS).toISOString(),
    resourceOwner: 'acme',
    repositories: ['api', 'web'],
    permissions: { contents: 'read', issues: 'write' },
    ...overrides,
  };
}

export function classic(overrides: Partial<ClassicTokenRecord> = {}): ClassicTokenRecord {
  return {
    kind: 'classic',
    id: randomId(),
    user: 'alice',
    name: 'laptop',
    status: 'active',
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: new Date(Date.now() + 30 * DAY_MS).toISOString(),
    scopes: ['read', 'write'],
    ...overrides,
  };
}

/**
 * Records every invalidation a store delivers from now on; `next` waits for the
 * first one (already seen or still to come) matching a predicate.
 */
export function recordInvalidations(store: GrantStore): {
  readonly seen: Invalidation[];
  next(match: (event: Invalidation) => boolean, timeoutMs?: number): Promise<Invalidation>;
} {
  const seen: Invalidation[] = [];
  const waiters = new Set<(event: Invalidation) => void>();
  store.onInvalidate((event) => {
    seen.push(event);
    for (const waiter of waiters) waiter(event);
  });
  return {
    seen,
    next(match, timeoutMs = 3000) {
      const earlier = seen.find(match);
      if (earlier) return Promise.resolve(earlier);
      return new Promise((resolve, reject) => {
        const waiter = (event: Invalidation): void => {
          if (!match(event)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          resolve(event);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching invalidation within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

/** Try to mutate a returned value; frozen values throw in strict mode, copies just change. */
export function tryMutate(mutate: () => void): void {
  try {
    mutate();
  } catch {
    // Frozen: the store refused the mutation outright, which is as good as a copy.
  }
}
