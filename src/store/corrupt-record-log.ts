import { StoreUnavailableError } from './errors.js';
import { CorruptRecordError } from './record-codec.js';

export interface CorruptRecordLogger {
  warn(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
}

// Bounds the memory of which keys were reported; past it the slate is wiped and a
// key may be reported again, which is better than growing without limit.
const MAX_REMEMBERED = 1024;

/**
 * Turns a record that did not decode into the StoreUnavailableError its caller
 * fails with. Every occurrence is counted (`count`, the store's failure counter)
 * but each key is logged once: a corrupt token hit by every request of a busy
 * client must not flood the log.
 */
export class CorruptRecordLog {
  readonly #logger: CorruptRecordLogger | undefined;
  readonly #count: () => void;
  readonly #reported = new Set<string>();

  constructor(logger: CorruptRecordLogger | undefined, count: () => void) {
    this.#logger = logger;
    this.#count = count;
  }

  /** `decode(raw)`, or the StoreUnavailableError its corruption fails with. */
  decode<T>(key: string, raw: unknown, decode: (raw: unknown) => T): T {
    try {
      return decode(raw);
    } catch (err) {
      if (err instanceof CorruptRecordError) throw this.fail(key, err);
      throw err;
    }
  }

  /** For listings: `decode(raw)`, or null (reported like a failure) when it is corrupt. */
  skip<T>(key: string, raw: unknown, decode: (raw: unknown) => T): T | null {
    try {
      return decode(raw);
    } catch (err) {
      if (err instanceof CorruptRecordError) {
        this.fail(key, err);
        return null;
      }
      throw err;
    }
  }

  /** `key`: the Redis key read (hashes and names only, never a secret). */
  fail(key: string, error: CorruptRecordError): StoreUnavailableError {
    this.#count();
    if (!this.#reported.has(key)) {
      if (this.#reported.size >= MAX_REMEMBERED) this.#reported.clear();
      this.#reported.add(key);
      const log = this.#logger?.error ?? this.#logger?.warn;
      log?.call(
        this.#logger,
        { key, problem: error.problem },
        'corrupt record in Redis: every read of it fails until it is rewritten',
      );
    }
    return new StoreUnavailableError({ cause: error });
  }
}
