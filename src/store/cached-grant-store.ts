import { LRUCache } from 'lru-cache';
import type { TokenKind } from '../grants/token-record.js';
import { StoreUnavailableError } from './errors.js';
import type { GrantSnapshot, GrantStore, Invalidation } from './grant-store.js';

export interface GrantCacheOptions {
  readonly maxEntries: number;
  /** A positive entry serves for at most this long after it was loaded, store down or not. */
  readonly ttlMs: number;
  /** How long "no such token" is remembered; 0 to never cache it. */
  readonly negativeTtlMs: number;
  /** Time source in ms, for tests; must start above 0. Defaults to `performance`. */
  readonly clock?: { now(): number };
}

export interface GrantCacheStats {
  hits: number;
  negativeHits: number;
  /** Store lookups started. */
  misses: number;
  /** Loads that joined a lookup already in flight for the same key. */
  coalesced: number;
  /** Entries served because the store failed while invalidations were not being received. */
  fallbacks: number;
}

/**
 * One cached answer, carrying the inputs it was read for, so that eviction can
 * find it in the indexes without decoding the LRU key. `snapshot` null is a
 * cached "no such token" (lru-cache cannot hold null itself).
 */
interface Entry {
  readonly tokenHash: string;
  /** The owner the lookup was asked about, for a classic token; null for a fine-grained one. */
  readonly classicOwner: string | null;
  readonly snapshot: GrantSnapshot | null;
}

/**
 * The LRU key: fine-grained, the hash alone (its lookup ignores the owner, and the
 * hit path allocates nothing); classic, hash + NUL + owner, since the owner is an
 * input of that lookup (GHSA-qvp4-rpmr-xwrr). NUL cannot occur in a hex hash, so
 * the two forms never collide. Never parsed back: the entry holds its parts.
 */
function cacheKey(tokenHash: string, kind: TokenKind, owner: string): string {
  return kind === 'fine_grained' ? tokenHash : `${tokenHash}\u0000${owner}`;
}

/**
 * The in-process cache in front of a GrantStore. Hits are synchronous; misses
 * coalesce per key; invalidations from the store evict what they concern.
 *
 * While the store is not synchronized (its invalidation subscription is down, so
 * a revocation may be passing unseen), entries are not trusted: every request asks
 * the store, and an entry is used only as a fallback when the store cannot answer,
 * within its TTL. A resubscription drops everything (`{kind: 'all'}`).
 *
 * Two indexes make evictions cheap without scanning the cache: owner -> keys of
 * positive entries whose owner state came from that owner, and token hash -> its
 * classic keys (one per owner the token was used against). Both are maintained
 * by lru-cache's `dispose`, so they never hold more keys than the cache does.
 */
export class GrantCache {
  readonly stats: GrantCacheStats = { hits: 0, negativeHits: 0, misses: 0, coalesced: 0, fallbacks: 0 };
  readonly #store: GrantStore;
  readonly #negativeTtlMs: number;
  readonly #cache: LRUCache<string, Entry>;
  readonly #inflight = new Map<string, Promise<GrantSnapshot | null>>();
  // Values are the LRU keys of the entries concerned.
  readonly #keysByOwner = new Map<string, Set<string>>();
  readonly #classicKeysByHash = new Map<string, Set<string>>();
  // Bumped by every invalidation: a load that started before one must not cache
  // what it read, since it may predate the change.
  #generation = 0;

  constructor(store: GrantStore, options: GrantCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries <= 0) {
      throw new TypeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    if (!Number.isInteger(options.ttlMs) || options.ttlMs <= 0) {
      throw new TypeError(`ttlMs must be a positive integer, got ${options.ttlMs}`);
    }
    if (!Number.isInteger(options.negativeTtlMs) || options.negativeTtlMs < 0) {
      throw new TypeError(`negativeTtlMs must be a non-negative integer, got ${options.negativeTtlMs}`);
    }
    this.#store = store;
    this.#negativeTtlMs = options.negativeTtlMs;
    this.#cache = new LRUCache<string, Entry>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Expired entries are misses, never served stale: the TTL is the staleness bound.
      allowStale: false,
      ttlAutopurge: false,
      dispose: (value, key) => this.#unindex(key, value),
      ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}),
    });
    store.onInvalidate((event) => this.#invalidate(event));
  }

  get size(): number {
    return this.#cache.size;
  }

  /**
   * Hot path: synchronous on a hit. `owner` is the lower-cased owner the request
   * reaches ('' when none); `kind` the parsed token's. `null` is a cached "no such
   * token"; `undefined` a miss.
   */
  peek(tokenHash: string, kind: TokenKind, owner: string): GrantSnapshot | null | undefined {
    return this.#peek(cacheKey(tokenHash, kind, owner));
  }

  /**
   * Miss path: one store lookup per key at a time, shared by concurrent callers.
   * Rejects with StoreUnavailableError; failures are not cached.
   */
  load(tokenHash: string, kind: TokenKind, owner: string): Promise<GrantSnapshot | null> {
    const key = cacheKey(tokenHash, kind, owner);
    const cached = this.#peek(key);
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.#inflight.get(key);
    if (pending) {
      this.stats.coalesced++;
      return pending;
    }
    this.stats.misses++;
    const generation = this.#generation;
    const settle = (): void => {
      if (this.#inflight.get(key) === loading) this.#inflight.delete(key);
    };
    const loading = this.#lookup(tokenHash, kind, owner).then(
      (snapshot) => {
        settle();
        if (generation === this.#generation) {
          this.#remember(key, { tokenHash, classicOwner: kind === 'classic' ? owner : null, snapshot });
        }
        return snapshot;
      },
      (err: unknown) => {
        settle();
        const fallback = this.#fallback(key);
        if (fallback !== undefined) return fallback;
        throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError({ cause: err });
      },
    );
    this.#inflight.set(key, loading);
    return loading;
  }

  #peek(key: string): GrantSnapshot | null | undefined {
    if (!this.#store.isSynchronized()) return undefined;
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.snapshot === null) this.stats.negativeHits++;
    else this.stats.hits++;
    return entry.snapshot;
  }

  /** An entry within its TTL, when the store failed and the entry could not be trusted without asking. */
  #fallback(key: string): GrantSnapshot | null | undefined {
    if (this.#store.isSynchronized()) return undefined;
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    this.stats.fallbacks++;
    return entry.snapshot;
  }

  clear(): void {
    this.#cache.clear();
    this.#keysByOwner.clear();
    this.#classicKeysByHash.clear();
  }

  /** The store's answer; a store that throws instead of rejecting is read as a rejection. */
  #lookup(tokenHash: string, kind: TokenKind, owner: string): Promise<GrantSnapshot | null> {
    try {
      return this.#store.lookup(tokenHash, owner, kind);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #remember(key: string, entry: Entry): void {
    const { snapshot, classicOwner } = entry;
    if (snapshot === null) {
      // lru-cache reads a ttl of 0 as "forever".
      if (this.#negativeTtlMs === 0) return;
      this.#cache.set(key, entry, { ttl: this.#negativeTtlMs });
    } else {
      // A classic record under a fine-grained key would leave its owner unknown to
      // the index, so owner invalidations could not find it: serve it, keep nothing.
      if (snapshot.token.kind === 'classic' && classicOwner === null) return;
      this.#cache.set(key, entry);
      addTo(this.#keysByOwner, ownerOf(snapshot, classicOwner), key);
    }
    if (classicOwner !== null) addTo(this.#classicKeysByHash, entry.tokenHash, key);
  }

  #unindex(key: string, entry: Entry): void {
    if (entry.snapshot !== null)
      removeFrom(this.#keysByOwner, ownerOf(entry.snapshot, entry.classicOwner), key);
    if (entry.classicOwner !== null) removeFrom(this.#classicKeysByHash, entry.tokenHash, key);
  }

  #invalidate(event: Invalidation): void {
    this.#generation++;
    // Later callers must start a fresh lookup rather than join one that may predate the change.
    this.#inflight.clear();
    switch (event.kind) {
      case 'token':
        this.#cache.delete(event.tokenHash);
        this.#deleteAll(this.#classicKeysByHash.get(event.tokenHash));
        return;
      case 'owner':
        this.#deleteAll(this.#keysByOwner.get(event.owner));
        return;
      case 'all':
        this.clear();
        return;
    }
  }

  #deleteAll(keys: Set<string> | undefined): void {
    if (!keys) return;
    // `dispose` edits the set while we delete.
    for (const key of [...keys]) this.#cache.delete(key);
  }
}

/** The owner whose state the snapshot holds: a fine-grained token's own, else the one asked about. */
function ownerOf(snapshot: GrantSnapshot, classicOwner: string | null): string {
  if (snapshot.token.kind === 'fine_grained') return snapshot.token.resourceOwner;
  return classicOwner ?? '';
}

function addTo(index: Map<string, Set<string>>, name: string, key: string): void {
  let keys = index.get(name);
  if (!keys) {
    keys = new Set();
    index.set(name, keys);
  }
  keys.add(key);
}

function removeFrom(index: Map<string, Set<string>>, name: string, key: string): void {
  const keys = index.get(name);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(name);
}
