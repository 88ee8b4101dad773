import type { Context } from 'hono';
import { RETRY_AFTER_SECONDS } from '../gateway/problem.js';
import type { Logger } from '../observability/logger.js';
import { StoreConflictError, StoreUnavailableError } from '../store/errors.js';
import { HttpProblem, invalid, problemJson } from './http.js';
import { InputError } from './issuance-policy.js';

/**
 * The one `onError` of patgate's Hono apps (admin API, console): typed errors become
 * their problem+json answers; anything else is logged and answered with a 500 that
 * leaks nothing.
 */
export function answerError(c: Context, error: Error, logger: Logger, app: string): Response {
  if (error instanceof HttpProblem) return problemJson(c, error);
  if (error instanceof InputError) return problemJson(c, invalid(error.field, error.message, error.status));
  if (error instanceof StoreUnavailableError) {
    c.header('retry-after', RETRY_AFTER_SECONDS);
    return problemJson(
      c,
      new HttpProblem(503, 'store_unavailable', 'Store unavailable', 'the store cannot be reached'),
    );
  }
  if (error instanceof StoreConflictError) {
    return problemJson(
      c,
      new HttpProblem(409, 'conflict', 'Conflict', 'a conflicting write happened; retry'),
    );
  }
  logger.error({ err: error }, `${app} error`);
  return problemJson(c, new HttpProblem(500, 'internal', 'Internal error', 'the request failed'));
}
