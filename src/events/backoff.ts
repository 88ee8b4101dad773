export interface BackoffOptions {
  /** Delay before the second attempt; each later one doubles it. */
  readonly baseMs: number;
  /** No delay grows past this. */
  readonly maxMs: number;
}

/**
 * The wait after failed attempt `attempt` (1-based): exponential, capped, with
 * jitter in [0.75, 1.25) so that deliveries that failed together (a receiver that
 * went down) do not all come back at the same instant.
 */
export function retryDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponential = options.baseMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(exponential, options.maxMs);
  return Math.round(capped * (0.75 + random() * 0.5));
}
