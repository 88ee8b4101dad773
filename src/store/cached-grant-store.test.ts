import { describe, expect, it } from 'vitest';
import { classic, fineGrained, randomHash } from '../../test/contract/token-fixtures.js';
import { DEFAULT_ORG_POLICY } from '../grants/owner.js';
import { GrantCache, type GrantCacheOptions } from './cached-grant-store.js';
import { StoreUnavailableError } from './errors.js';
import type { GrantSnapshot, Invalidation, InvalidationListener } from './grant-store.js';
import { MemoryGrantStore } from './memory-store.js';

/** A memory store that counts lookups, can hold them at a gate, fail them, and emit invalidations on demand. */
class CountingStore extends MemoryGrantStore {
  lookups = 0;
  failWith: unknown = null;
  synchronized = true;
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;
  readonly #listeners: InvalidationListener[] = [];

  override async lookup(tokenHash: string, owner: string): Promise<GrantSnapshot | null> {
    this.lookups++;
    if (this.#gate) await this.#gate;
    if (this.failWith) throw this.failWith;
    return super.lookup(tokenHash, owner);
  }

  override isSynchronized(): boolean {
    return this.synchronized;
  }

  override onInvalidate(listener: InvalidationListener): void {
    this.#listeners.push(listener);
    super.onInvalidate(listener);
  }

  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open?.();
    this.#gate = null;
  }

  emit(event: Invalidation): void {
    for (const listener of this.#listeners) listener(event);
  }
}

class FakeClock {
  // lru-cache treats a start time of 0 as "no TTL"; begin well above it.
  ms = 1_000_000;
  now(): number {
    return this.ms;
  }
}

const OPTIONS: GrantCacheOptions = { maxEntries: 100, ttlMs: 10_000, negativeTtlMs: 1_000 };

async function setup(options: Partial<GrantCacheOptions> = {}) {
  const store = new CountingStore();
  const clock = new FakeClock();
  const cache = new GrantCache(store, { ...OPTIONS, clock, ...options });
  const fine = { record: fineGrained({ resourceOwner: 'acme' }), hash: randomHash() };
  const broad = { record: classic(), hash: randomHash() };
  await store.createToken(fine.hash, fine.record);
  await store.createToken(broad.hash, broad.record);
  await store.setMember('acme', 'alice', 'member');
  await store.setOrgPolicy('beta', { ...DEFAULT_ORG_POLICY, classicTokens: 'blocked' });
  // The arguments of peek/load: token hash, parsed kind, the owner the request reaches.
  const fineKey = [fine.hash, 'fine_grained', 'acme'] as const;
  const classicKey = (owner: string) => [broad.hash, 'classic', owner] as const;
  return { store, clock, cache, fine, broad, fineKey, classicKey };
}

describe('GrantCache', () => {
  describe('key', () => {
    it('is the hash alone for fine-grained tokens, whose lookup ignores the owner', async () => {
      const { store, cache, fine } = await setup();
      const loaded = await cache.load(fine.hash, 'fine_grained', 'acme');
      expect(cache.peek(fine.hash, 'fine_grained', 'beta')).toBe(loaded);
      expect(cache.peek(fine.hash, 'fine_grained', '')).toBe(loaded);
      expect(store.lookups).toBe(1);
    });

    it('holds the owner for classic tokens (GHSA-qvp4-rpmr-xwrr: every input of the lookup)', async () => {
      const { cache, broad, classicKey } = await setup();
      await cache.load(...classicKey('acme'));
      expect(cache.peek(...classicKey('acme'))).toBeDefined();
      expect(cache.peek(...classicKey('beta'))).toBeUndefined();
      expect(cache.peek(broad.hash, 'fine_grained', 'acme')).toBeUndefined();
    });
  });

  it('misses, loads once, then hits synchronously', async () => {
    const { store, cache, fine, fineKey } = await setup();
    expect(cache.peek(...fineKey)).toBeUndefined();
    const loaded = await cache.load(...fineKey);
    expect(loaded?.token).toEqual(fine.record);
    expect(cache.peek(...fineKey)).toBe(loaded);
    expect(cache.peek(...fineKey)).toBe(loaded);
    expect(store.lookups).toBe(1);
    expect(cache.stats).toEqual({ hits: 2, negativeHits: 0, misses: 1, coalesced: 0, fallbacks: 0 });
    expect(cache.size).toBe(1);
  });

  it('caches "no such token" for negativeTtlMs only', async () => {
    const { store, clock, cache } = await setup();
    const unknown = randomHash();
    const key = [unknown, 'fine_grained', 'acme'] as const;
    expect(await cache.load(...key)).toBeNull();
    expect(cache.peek(...key)).toBeNull();
    expect(cache.stats.negativeHits).toBe(1);
    clock.ms += OPTIONS.negativeTtlMs;
    expect(cache.peek(...key)).toBeNull();
    clock.ms += 1;
    expect(cache.peek(...key)).toBeUndefined();
    expect(store.lookups).toBe(1);
  });

  it('does not cache negatives when negativeTtlMs is 0', async () => {
    const { cache } = await setup({ negativeTtlMs: 0 });
    const unknown = randomHash();
    expect(await cache.load(unknown, 'fine_grained', 'acme')).toBeNull();
    expect(cache.peek(unknown, 'fine_grained', 'acme')).toBeUndefined();
  });

  it('coalesces 50 concurrent misses of one key into one lookup', async () => {
    const { store, cache, fineKey } = await setup();
    store.hold();
    const loads = Array.from({ length: 50 }, () => cache.load(...fineKey));
    store.release();
    const results = await Promise.all(loads);
    expect(store.lookups).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(cache.stats).toMatchObject({ misses: 1, coalesced: 49 });
  });

  it('serves a positive entry for at most ttlMs after loading, even while the store is down', async () => {
    const { store, clock, cache, fineKey } = await setup();
    const loaded = await cache.load(...fineKey);
    store.failWith = new StoreUnavailableError();
    clock.ms += OPTIONS.ttlMs;
    expect(cache.peek(...fineKey)).toBe(loaded);
    clock.ms += 1;
    expect(cache.peek(...fineKey)).toBeUndefined();
    await expect(cache.load(...fineKey)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('does not cache failures, and wraps foreign errors as StoreUnavailableError', async () => {
    const { store, cache, fineKey } = await setup();
    store.failWith = new Error('socket hang up');
    const failure = await cache.load(...fineKey).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).cause).toBe(store.failWith);
    store.failWith = null;
    expect(await cache.load(...fineKey)).not.toBeNull();
    expect(store.lookups).toBe(2);
  });

  it('keeps one entry per owner for a classic token (same hash, two owners, two states)', async () => {
    const { store, cache, classicKey } = await setup();
    const acme = await cache.load(...classicKey('acme'));
    const beta = await cache.load(...classicKey('beta'));
    expect(acme?.owner.org?.role).toBe('member');
    expect(beta?.owner.org?.role).toBeNull();
    expect(acme?.owner.org?.policy.classicTokens).toBe('allowed');
    expect(beta?.owner.org?.policy.classicTokens).toBe('blocked');
    expect(cache.peek(...classicKey('acme'))).toBe(acme);
    expect(cache.peek(...classicKey('beta'))).toBe(beta);
    expect(store.lookups).toBe(2);
    expect(cache.size).toBe(2);
  });

  describe('while the store is not synchronized (invalidations may be passing unseen)', () => {
    it('asks the store on every load instead of trusting an entry', async () => {
      const { store, cache, fineKey } = await setup();
      const first = await cache.load(...fineKey);
      store.synchronized = false;
      expect(cache.peek(...fineKey)).toBeUndefined();
      const second = await cache.load(...fineKey);
      expect(second).not.toBe(first);
      expect(store.lookups).toBe(2);
      expect(cache.stats.hits).toBe(0);
      // Trusted again once the subscription is back (which also drops everything first).
      store.synchronized = true;
      expect(cache.peek(...fineKey)).toBe(second);
    });

    it('falls back on an entry within its TTL only when the store cannot answer', async () => {
      const { store, clock, cache, fineKey } = await setup();
      const loaded = await cache.load(...fineKey);
      store.synchronized = false;
      store.failWith = new StoreUnavailableError();
      expect(await cache.load(...fineKey)).toBe(loaded);
      expect(cache.stats.fallbacks).toBe(1);
      clock.ms += OPTIONS.ttlMs + 1;
      await expect(cache.load(...fineKey)).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('falls back on a negative entry too (a refusal is always safe)', async () => {
      const { store, cache } = await setup();
      const unknown = randomHash();
      expect(await cache.load(unknown, 'fine_grained', 'acme')).toBeNull();
      store.synchronized = false;
      store.failWith = new StoreUnavailableError();
      expect(await cache.load(unknown, 'fine_grained', 'acme')).toBeNull();
    });

    it('fails when there is nothing to fall back on', async () => {
      const { store, cache, fineKey } = await setup();
      store.synchronized = false;
      store.failWith = new StoreUnavailableError();
      await expect(cache.load(...fineKey)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(cache.stats.fallbacks).toBe(0);
    });
  });

  describe('invalidation', () => {
    async function warm() {
      const ctx = await setup();
      const { cache, fineKey, classicKey } = ctx;
      const other = { record: fineGrained({ resourceOwner: 'beta' }), hash: randomHash() };
      await ctx.store.createToken(other.hash, other.record);
      await cache.load(...fineKey);
      await cache.load(...classicKey('acme'));
      await cache.load(...classicKey('beta'));
      await cache.load(other.hash, 'fine_grained', 'beta');
      expect(cache.size).toBe(4);
      return { ...ctx, other };
    }

    it('token: drops the hash and every classic entry of it, nothing else', async () => {
      const { store, cache, broad, fineKey, classicKey, other } = await warm();
      store.emit({ kind: 'token', tokenHash: broad.hash });
      expect(cache.peek(...classicKey('acme'))).toBeUndefined();
      expect(cache.peek(...classicKey('beta'))).toBeUndefined();
      expect(cache.peek(...fineKey)).toBeDefined();
      expect(cache.peek(other.hash, 'fine_grained', 'beta')).toBeDefined();
      expect(cache.size).toBe(2);
    });

    it('token: drops a fine-grained entry', async () => {
      const { store, cache, fine, fineKey } = await warm();
      store.emit({ kind: 'token', tokenHash: fine.hash });
      expect(cache.peek(...fineKey)).toBeUndefined();
      expect(cache.size).toBe(3);
    });

    it('owner: drops fine-grained tokens of that owner and classic entries read for it', async () => {
      const { store, cache, fineKey, classicKey, other } = await warm();
      store.emit({ kind: 'owner', owner: 'acme' });
      expect(cache.peek(...fineKey)).toBeUndefined();
      expect(cache.peek(...classicKey('acme'))).toBeUndefined();
      expect(cache.peek(...classicKey('beta'))).toBeDefined();
      expect(cache.peek(other.hash, 'fine_grained', 'beta')).toBeDefined();
    });

    it('all: drops everything', async () => {
      const { store, cache } = await warm();
      store.emit({ kind: 'all' });
      expect(cache.size).toBe(0);
    });

    it('follows real store writes (revocation, membership change)', async () => {
      const { store, cache, fine, fineKey, classicKey } = await warm();
      await store.setTokenStatus(fine.record.id, 'revoked');
      await store.removeMember('beta', 'nobody');
      // Memory-store events are delivered in a microtask queued before the write resolved.
      expect(cache.peek(...fineKey)).toBeUndefined();
      expect(cache.peek(...classicKey('beta'))).toBeUndefined();
      expect(cache.peek(...classicKey('acme'))).toBeDefined();
      const reloaded = await cache.load(...fineKey);
      expect(reloaded?.token.status).toBe('revoked');
    });

    it('keeps its indexes in step with LRU evictions', async () => {
      const { store, cache, broad, fineKey, classicKey } = await setup({ maxEntries: 1 });
      await cache.load(...fineKey);
      await cache.load(...classicKey('acme'));
      expect(cache.size).toBe(1);
      store.emit({ kind: 'owner', owner: 'acme' });
      expect(cache.size).toBe(0);
      await cache.load(...fineKey);
      store.emit({ kind: 'token', tokenHash: broad.hash });
      expect(cache.peek(...fineKey)).toBeDefined();
    });

    it('does not cache a load that was in flight when an invalidation arrived', async () => {
      const { store, cache, fine, fineKey } = await setup();
      store.hold();
      const racing = cache.load(...fineKey);
      store.emit({ kind: 'token', tokenHash: fine.hash });
      // A caller arriving after the invalidation must not join the older lookup.
      const fresh = cache.load(...fineKey);
      store.release();
      await Promise.all([racing, fresh]);
      expect(store.lookups).toBe(2);
      expect(cache.stats.coalesced).toBe(0);
      // The fresh load started after the invalidation, so its result may be kept.
      expect(cache.peek(...fineKey)).toBeDefined();
    });

    it('does not cache the racing result even when nothing else reloads', async () => {
      const { store, cache, fineKey } = await setup();
      store.hold();
      const racing = cache.load(...fineKey);
      store.emit({ kind: 'owner', owner: 'somewhere-else' });
      store.release();
      expect(await racing).not.toBeNull();
      expect(cache.peek(...fineKey)).toBeUndefined();
    });
  });

  it('rejects bad options at construction', () => {
    const store = new MemoryGrantStore();
    expect(() => new GrantCache(store, { ...OPTIONS, maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new GrantCache(store, { ...OPTIONS, ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => new GrantCache(store, { ...OPTIONS, negativeTtlMs: 1.5 })).toThrow(/negativeTtlMs/);
  });
});
