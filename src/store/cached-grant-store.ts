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

// lru-cache cannot hold null; one shared frozen marker stands for "no such token".
const NEGATIVE = Object.freeze({ negative: true as const });
type Negative = typeof NEGATIVE;
type Entry = GrantSnapshot | Negative;

function isNegative(entry: Entry): entry is Negative {
  return entry === NEGATIVE;
}

const CLASSIC_SEPARATOR = '\u0000';

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
  readonly #keysByOwner = new Map<string, Set<string>>();
  readonly #classicKeysByHash = new Map<string, Set<string>>();
  // Bumped by every invalidation: a load that started before one must not cache
  // what it read, since it may predate the change.
  #generation = 0;

  /** Fine-grained: the hash. Classic: hash + NUL + owner, since the owner is an input of that lookup (GHSA-qvp4-rpmr-xwrr). */
  static key(tokenHash: string, kind: TokenKind, owner: string): string {
    return kind === 'fine_grained' ? tokenHash : `${tokenHash}${CLASSIC_SEPARATOR}${owner}`;
  }

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

  /** Hot path: synchronous on a hit. `null` is a cached "no such token"; `undefined` a miss. */
  peek(key: string): GrantSnapshot | null | undefined {
    if (!this.#store.isSynchronized()) return undefined;
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    if (isNegative(entry)) {
      this.stats.negativeHits++;
      return null;
    }
    this.stats.hits++;
    return entry;
  }

  /**
   * Miss path: one store lookup per key at a time, shared by concurrent callers.
   * Rejects with StoreUnavailableError; failures are not cached.
   */
  load(tokenHash: string, owner: string, key: string): Promise<GrantSnapshot | null> {
    const cached = this.peek(key);
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
    const loading = this.#lookup(tokenHash, owner).then(
      (snapshot) => {
        settle();
        if (generation === this.#generation) this.#remember(key, snapshot);
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

  /** An entry within its TTL, when the store failed and the entry could not be trusted without asking. */
  #fallback(key: string): GrantSnapshot | null | undefined {
    if (this.#store.isSynchronized()) return undefined;
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    this.stats.fallbacks++;
    return isNegative(entry) ? null : entry;
  }

  clear(): void {
    this.#cache.clear();
    this.#keysByOwner.clear();
    this.#classicKeysByHash.clear();
  }

  /** The store's answer; a store that throws instead of rejecting is read as a rejection. */
  #lookup(tokenHash: string, owner: string): Promise<GrantSnapshot | null> {
    try {
      return this.#store.lookup(tokenHash, owner);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #remember(key: string, snapshot: GrantSnapshot | null): void {
    const classic = classicParts(key);
    if (snapshot === null) {
      // lru-cache reads a ttl of 0 as "forever".
      if (this.#negativeTtlMs === 0) return;
      this.#cache.set(key, NEGATIVE, { ttl: this.#negativeTtlMs });
    } else {
      // A classic record under a fine-grained key would leave its owner unknown to
      // the index, so owner invalidations could not find it: serve it, keep nothing.
      if (snapshot.token.kind === 'classic' && !classic) return;
      this.#cache.set(key, snapshot);
      addTo(this.#keysByOwner, ownerOf(snapshot, classic), key);
    }
    if (classic) addTo(this.#classicKeysByHash, classic.hash, key);
  }

  #unindex(key: string, entry: Entry): void {
    const classic = classicParts(key);
    if (!isNegative(entry)) removeFrom(this.#keysByOwner, ownerOf(entry, classic), key);
    if (classic) removeFrom(this.#classicKeysByHash, classic.hash, key);
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

function classicParts(key: string): { hash: string; owner: string } | null {
  const at = key.indexOf(CLASSIC_SEPARATOR);
  return at < 0 ? null : { hash: key.slice(0, at), owner: key.slice(at + 1) };
}

/** The owner whose state the snapshot holds: a fine-grained token's own, else the one asked about. */
function ownerOf(snapshot: GrantSnapshot, classic: { owner: string } | null): string {
  if (snapshot.token.kind === 'fine_grained') return snapshot.token.resourceOwner;
  return classic?.owner ?? '';
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
