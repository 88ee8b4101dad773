/**
 * Lets an event through at most once per interval and counts what it held back,
 * so an outage that refuses thousands of requests logs one line a second, not
 * one a request.
 */
export class Throttle {
  #nextAt = 0;
  #suppressed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The number of events held back since the last one let through, or -1 to hold this one back. */
  take(): number {
    const now = this.now();
    if (now < this.#nextAt) {
      this.#suppressed++;
      return -1;
    }
    this.#nextAt = now + this.intervalMs;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return suppressed;
  }
}
