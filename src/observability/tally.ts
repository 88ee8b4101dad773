/**
 * Counts by a pair of label values with two Map lookups and an addition: the
 * request path's share of metrics. prom-client hashes its labels on every
 * `inc()`, which the benchmark measured as the largest single cost patgate adds
 * per request; the totals are folded into prom-client at scrape time instead.
 */
export class PairTally {
  #counts = new Map<string, Map<string, number>>();

  add(first: string, second: string): void {
    let inner = this.#counts.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.#counts.set(first, inner);
    }
    inner.set(second, (inner.get(second) ?? 0) + 1);
  }

  /** Hands every count gathered since the last drain to `sink` and starts again from zero. */
  drain(sink: (first: string, second: string, count: number) => void): void {
    const counts = this.#counts;
    this.#counts = new Map();
    for (const [first, inner] of counts) {
      for (const [second, count] of inner) sink(first, second, count);
    }
  }
}
