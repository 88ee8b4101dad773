/**
 * Fixed windows aligned to the epoch: every instance puts a request in the same window
 * without asking anyone, and the reset instant is the window's end (GitHub's
 * `X-RateLimit-Reset`, epoch seconds).
 */

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
const WINDOW_TEXT = /^([1-9][0-9]{0,5})([smhd])$/;

/** Longest window: a week. Shortest: one second. */
export const MAX_WINDOW_SECONDS = 7 * 86_400;

/** `30s`, `15m`, `1h`, `1d` → seconds; null for anything else or outside 1 s .. 7 d. */
export function parseWindow(text: string): number | null {
  const match = WINDOW_TEXT.exec(text);
  if (match === null) return null;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
  return seconds <= MAX_WINDOW_SECONDS ? seconds : null;
}

/** The shortest spelling of a window: 3600 → `1h`, 90 → `90s`. */
export function formatWindow(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Start (ms) of the window holding `now`. */
export function windowStart(now: number, windowMs: number): number {
  return now - (now % windowMs);
}

/** The window's end in epoch seconds: `X-RateLimit-Reset`. */
export function resetSeconds(start: number, windowMs: number): number {
  return Math.ceil((start + windowMs) / 1000);
}

/** Whole seconds until the window ends, at least 1: `Retry-After`. */
export function retryAfterSeconds(now: number, start: number, windowMs: number): number {
  return Math.max(1, Math.ceil((start + windowMs - now) / 1000));
}
