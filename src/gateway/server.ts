import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { checkTarget } from '../request/target.js';
import type { CheckedTarget, Gateway } from './pipeline.js';
import { problemFor } from './problem.js';
import { writeProblem } from './write-problem.js';

type GatewayEnv = { Bindings: { incoming: IncomingMessage; outgoing: ServerResponse } };

const checkedTargets = new WeakMap<IncomingMessage, CheckedTarget>();

export interface GatewayServerOptions {
  /** Bound on the request line plus headers (Node's `maxHeaderSize`); larger gets 431. */
  readonly maxHeaderBytes: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_GATEWAY_SERVER_OPTIONS: GatewayServerOptions = {
  maxHeaderBytes: 16 * 1024,
  requestTimeoutMs: 300_000,
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * The gateway listener: the request target is checked on the raw Node request
 * before Hono builds anything from it (Hono would otherwise normalise or reject
 * it with a bare 400), then one Hono route hands the raw request/response pair
 * to the pipeline, which streams with undici straight into the Node response.
 */
export function createGatewayServer(
  gateway: Gateway,
  options: GatewayServerOptions = DEFAULT_GATEWAY_SERVER_OPTIONS,
): Server {
  const app = new Hono<GatewayEnv>();
  app.all('*', async (c) => {
    const incoming = c.env.incoming;
    const target = checkedTargets.get(incoming);
    if (target === undefined) {
      writeProblem(c.env.outgoing, problemFor('internal', ''));
      return RESPONSE_ALREADY_SENT;
    }
    await gateway.handle(incoming, c.env.outgoing, target);
    return RESPONSE_ALREADY_SENT;
  });
  const honoListener = getRequestListener(app.fetch, {
    // Anything Hono's request adapter refuses (e.g. an odd Host) is a client error.
    errorHandler: () => problemResponse(),
  });

  const server = createServer(
    {
      maxHeaderSize: options.maxHeaderBytes,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // Duplicate Content-Length and CL+TE conflicts are refused by llhttp (RFC 9112 §6.3);
      // lenient parsing stays off.
      insecureHTTPParser: false,
      requireHostHeader: true,
    },
    (req, res) => {
      const checked = checkTarget(req.url ?? '');
      if (!checked.ok) {
        res.setHeader('connection', 'close');
        writeProblem(res, problemFor('bad_request_target', checked.detail));
        return;
      }
      checkedTargets.set(req, { path: checked.path, query: checked.query });
      void honoListener(req, res);
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    answerClientError(error, socket);
  });
  return server;
}

function problemResponse(): Response {
  const answer = problemFor('bad_request', 'the request could not be parsed');
  return new Response(JSON.stringify(answer.problem), {
    status: 400,
    headers: { 'content-type': 'application/problem+json' },
  });
}

/**
 * Malformed framing never reaches a handler: llhttp refuses it and we answer on
 * the socket, then close it, since the connection's framing can no longer be trusted.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  let status = 400;
  let title = 'Bad request';
  let detail = 'the request could not be parsed';
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    title = 'Request header fields too large';
    detail = 'the request line and headers exceed the limit';
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    title = 'Request timeout';
    detail = 'the request was not received in time';
  } else if (error.code === 'HPE_INVALID_METHOD') {
    detail = 'unknown request method';
  }
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
