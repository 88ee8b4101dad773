/**
 * The bytes of request bodies the gateway may hold in memory at once, across every request:
 * what bounds buffering when many clients send bodies together.
 */
export class BodyBudget {
  readonly #total: number;
  #used = 0;

  constructor(totalBytes: number) {
    if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) {
      throw new TypeError(`totalBytes must be a non-negative integer, got ${totalBytes}`);
    }
    this.#total = totalBytes;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit; nothing is taken otherwise. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.#total) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/**
 * Upstream requests in flight per client address: one client may hold at most its share of the
 * upstream pool, whatever pace it reads or writes at.
 */
export class UpstreamShares {
  readonly #max: number;
  readonly #held = new Map<string, number>();

  constructor(maxPerClient: number) {
    if (!Number.isSafeInteger(maxPerClient) || maxPerClient <= 0) {
      throw new TypeError(`maxPerClient must be a positive integer, got ${maxPerClient}`);
    }
    this.#max = maxPerClient;
  }

  tryTake(client: string): boolean {
    const held = this.#held.get(client) ?? 0;
    if (held >= this.#max) return false;
    this.#held.set(client, held + 1);
    return true;
  }

  give(client: string): void {
    const held = (this.#held.get(client) ?? 1) - 1;
    if (held <= 0) this.#held.delete(client);
    else this.#held.set(client, held);
  }

  heldBy(client: string): number {
    return this.#held.get(client) ?? 0;
  }
}
