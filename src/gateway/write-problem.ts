import type { ServerResponse } from 'node:http';
import type { ProblemResponse } from './problem.js';

/** Writes a problem+json answer on a raw Node response, closing nothing else. */
export function writeProblem(
  res: ServerResponse,
  answer: ProblemResponse,
  extraHeaders?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(answer.problem);
  res.writeHead(answer.problem.status, {
    ...answer.headers,
    ...extraHeaders,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
