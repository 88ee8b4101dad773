import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE } from './problem.js';
import type { RefusalAnswer } from './refusal.js';

/**
 * Writes a refusal on a Node response; a response already started can only be cut. `plainJson`:
 * the client prefers `application/json` (the same members, another content type). `statusHeader`:
 * repeat the status in `X-Patgate-Status`, for a proxy that maps it away (decision listener).
 * Returns the body's length in bytes (0 when the response could only be cut).
 */
export function writeRefusal(
  res: ServerResponse,
  answer: RefusalAnswer,
  plainJson = false,
  statusHeader = false,
  requestId?: string,
): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const body = JSON.stringify(answer.problem);
  const headers: Record<string, string | number> = {
    ...answer.headers,
    'content-type': plainJson ? JSON_CONTENT_TYPE : PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (answer.close) headers.connection = 'close';
  if (statusHeader) headers['x-patgate-status'] = String(answer.problem.status);
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  res.writeHead(answer.problem.status, headers);
  res.end(body);
  return headers['content-length'] as number;
}

/** Writes a refusal straight on a socket no `ServerResponse` owns, and closes it. */
export function writeRefusalOnSocket(socket: Duplex, answer: RefusalAnswer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(answer.problem);
  let head = `HTTP/1.1 ${answer.problem.status} ${answer.problem.title}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n`;
  for (const name in answer.headers) head += `${name}: ${answer.headers[name]}\r\n`;
  socket.end(`${head}\r\n${body}`);
}
