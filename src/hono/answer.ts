import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE } from '../gateway/problem.js';
import { answerFor, type Dialect, type Refusal } from '../gateway/refusal.js';
import { prefersPlainJson } from '../request/accept.js';

/**
 * The middleware's writer of a refusal, as `gateway/write-refusal.ts` is the Node response's: the
 * status, problem body, headers (`WWW-Authenticate`, `X-Accepted-Permissions`, `Retry-After`),
 * content type and caching of `answerFor`, the gateway's one table. `Connection: close` is left
 * out: in a fetch handler the server owns the connection.
 */
export function answerRefusal(
  c: Context,
  refusal: Refusal,
  dialect: Dialect,
  accept: string | undefined,
): Response {
  const answer = answerFor(refusal, dialect);
  return c.body(JSON.stringify(answer.problem), answer.problem.status as ContentfulStatusCode, {
    ...answer.headers,
    'content-type': prefersPlainJson(accept) ? JSON_CONTENT_TYPE : PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
  });
}
