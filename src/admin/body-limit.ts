import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { problem } from '../gateway/problem.js';
import { writeProblem } from './http.js';

export interface LimitBodyOptions {
  /** Largest request body accepted, in bytes. */
  readonly maxBytes: number;
}

/**
 * Refuses a request body over `maxBytes` with 413 problem+json while it streams:
 * a declared `content-length` is judged before a byte is read, a chunked body as
 * soon as its running total passes the limit, so nothing ever holds more than
 * `maxBytes` of it. Hono's `bodyLimit` does the counting; this adds the answer
 * every patgate Hono app gives (admin API, console) and closes the connection,
 * since the rest of the body is still on its way.
 */
export function limitBody(options: LimitBodyOptions): MiddlewareHandler {
  const { maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new TypeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
  const limited = bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      writeProblem(
        c,
        problem('too_large', 413, 'Payload too large', `request body over ${describeBytes(maxBytes)}`),
        {
          connection: 'close',
        },
      ),
  });
  return async function limitRequestBody(c, next) {
    return limited(c, next);
  };
}

function describeBytes(n: number): string {
  return n % 1024 === 0 && n > 0 ? `${n / 1024} KiB` : `${n} bytes`;
}
