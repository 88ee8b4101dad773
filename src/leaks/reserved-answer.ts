import type { Logger } from '../observability/logger.js';

/** What the gateway listener writes back: status, headers, body, as they are. */
export interface ReservedAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One report's worth of budget for a client address: ok, or when to come back. */
export interface ReportLimiter {
  take(
    clientAddress: string,
  ): Promise<{ readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number }>;
}

/** A problem body as the public report endpoints answer it (`message` for GitHub's clients). */
export function problem(
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): ReservedAnswer {
  return {
    status,
    headers: { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
    body: JSON.stringify({ type: 'about:blank', title, status, detail, message: title }),
  };
}

/**
 * Takes one report from `clientAddress`'s budget: null when it may go on, else the answer (429
 * with `Retry-After`, or 503 when the limiter cannot be asked: a report is never taken unlimited).
 */
export async function takeReportBudget(
  limiter: ReportLimiter,
  clientAddress: string,
  logger: Logger,
  endpoint: string,
): Promise<ReservedAnswer | null> {
  let budget: Awaited<ReturnType<ReportLimiter['take']>>;
  try {
    budget = await limiter.take(clientAddress);
  } catch (err) {
    logger.error({ err }, `${endpoint} limiter unavailable`);
    return problem(503, 'Service unavailable', 'try again later', { 'retry-after': '5' });
  }
  if (budget.ok) return null;
  return problem(429, 'Too many requests', 'too many reports from this address', {
    'retry-after': String(budget.retryAfterSeconds),
  });
}
