import type { GrantStore } from '../store/grant-store.js';

export interface LastUsedOptions {
  readonly flushIntervalMs: number;
  readonly onError: (error: unknown) => void;
}

/**
 * Keeps `last_used_at` without a store round trip per request: uses are noted in
 * memory (one Map write) and flushed in one batch per interval. A crash loses at
 * most one interval of last-used times, which is the trade the design accepts.
 */
export class LastUsedRecorder {
  /** Token id -> epoch ms; formatted only at flush, off the request path. */
  #pending = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  readonly #store: GrantStore;
  readonly #onError: (error: unknown) => void;

  constructor(store: GrantStore, options: LastUsedOptions) {
    this.#store = store;
    this.#onError = options.onError;
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.#timer.unref();
  }

  note(tokenId: string, nowMs: number): void {
    this.#pending.set(tokenId, nowMs);
  }

  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = new Map<string, string>();
    for (const [id, at] of this.#pending) batch.set(id, new Date(at).toISOString());
    this.#pending = new Map();
    try {
      await this.#store.recordLastUsed(batch);
    } catch (error) {
      this.#onError(error);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
