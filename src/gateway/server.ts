import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkRequestHeaders } from '../request/header-check.js';
import { isSupportedMethod } from '../request/methods.js';
import { checkQuery } from '../request/query.js';
import type { RequestRefusal } from '../request/refusal.js';
import { checkTarget, DEFAULT_MAX_TARGET_LENGTH } from '../request/target.js';
import { canonicalAddress, TrustedProxies } from '../request/trusted-proxies.js';
import type { Gateway } from './pipeline.js';
import { refusalProblem, writeRefusal } from './refusal-answer.js';

export interface GatewayServerOptions {
  /** Bound on the request line and on the header section (Node's `maxHeaderSize`); larger gets 431. */
  readonly maxHeaderBytes: number;
  /** More header fields than this gets 431. */
  readonly maxHeaderCount: number;
  /** A longer request-target gets 414. */
  readonly maxTargetLength: number;
  /** Whole request, body included, must arrive within this (408). */
  readonly requestTimeoutMs: number;
  /** The request line and headers must arrive within this (408): the slowloris bound. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections per client address; the next ones get 429 and are closed. */
  readonly maxConnectionsPerClient: number;
  /** Exempt from the per-client bound: every client behind a proxy shares its address. */
  readonly trustedProxies: TrustedProxies;
}

export const DEFAULT_GATEWAY_SERVER_OPTIONS: GatewayServerOptions = {
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxTargetLength: DEFAULT_MAX_TARGET_LENGTH,
  requestTimeoutMs: 300_000,
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  maxConnectionsPerClient: 256,
  trustedProxies: new TrustedProxies([]),
};

/** How long a connection over its client's share may take to send the request that gets the 429. */
const OVER_LIMIT_LINGER_MS = 1_000;

/**
 * The gateway listener. Every request is checked on the raw Node request, in the order a
 * parser meets it: version, method, target, headers, query. Only then does the pipeline see it,
 * and it streams with undici straight into the Node response. Nothing else parses the request:
 * llhttp frames it, `request/` reads it once, and what was checked is what is forwarded.
 */
export function createGatewayServer(
  gateway: Gateway,
  options: GatewayServerOptions = DEFAULT_GATEWAY_SERVER_OPTIONS,
): Server {
  const { maxTargetLength, maxHeaderCount } = options;
  const overLimit = new WeakSet<Socket>();

  const onRequest = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void => {
    if (overLimit.has(req.socket)) {
      gateway.refuseRequest(res, 'too_many_connections', 'too many open connections from this client');
      return;
    }
    // RFC 9110 §6.2: llhttp also parses HTTP/0.9-style and 2.x request lines as 1.x.
    if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) {
      gateway.refuseRequest(res, 'http_version', 'only HTTP/1.0 and HTTP/1.1 are served');
      return;
    }
    const method = req.method ?? '';
    if (!isSupportedMethod(method)) {
      gateway.refuseRequest(res, 'method_not_implemented', `method ${method} is not supported`);
      return;
    }
    const checked = checkTarget(req.url ?? '', maxTargetLength);
    if (!checked.ok) {
      if (checked.reason === 'too_long') gateway.refuseRequest(res, 'target_too_long', checked.detail);
      else gateway.refuseTarget(res, checked.detail);
      return;
    }
    const headers = checkRequestHeaders(req.rawHeaders, req.httpVersionMinor, maxHeaderCount);
    if (!headers.ok) {
      gateway.refuseRequest(res, headers.reason, headers.detail);
      return;
    }
    if (checked.query.length > 1) {
      const query = checkQuery(checked.query);
      if (!query.ok) {
        gateway.refuseRequest(res, query.reason, query.detail);
        return;
      }
    }
    gateway.handle(req, res, { path: checked.path, query: checked.query, expectContinue });
  };

  const server = createServer(
    {
      maxHeaderSize: options.maxHeaderBytes,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this period (30 s by default, which would let a
      // slowloris client hold a connection well past `headersTimeout`).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(options.headersTimeoutMs / 4))),
      // Duplicate Content-Length and CL+TE conflicts are refused by llhttp (RFC 9112 §6.3);
      // lenient parsing stays off.
      insecureHTTPParser: false,
      // Checked in `checkRequestHeaders`, so that a missing Host gets a problem+json answer.
      requireHostHeader: false,
    },
    (req, res) => onRequest(req, res, false),
  );
  // Node's own cap (2000 by default) silently drops the fields past it from `req.headers` while
  // `req.rawHeaders` keeps them all: two views of one request. The count is enforced above.
  server.maxHeadersCount = 0;
  // With a listener, Node leaves `100 Continue` to the pipeline, which sends it only once the
  // request is authorized (RFC 9110 §10.1.1).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, true));
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    gateway.refuseRequest(res, 'expectation_failed', 'the only expectation supported is 100-continue');
  });
  // CONNECT would turn the gateway into a TCP tunnel (RFC 9110 §9.3.6).
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    answerRaw(socket, 'method_not_implemented', 'method CONNECT is not supported');
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    answerClientError(error, socket);
  });

  const max = options.maxConnectionsPerClient;
  const trusted = options.trustedProxies;
  const perClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || trusted.has(address)) return;
    const client = canonicalAddress(address);
    const open = (perClient.get(client) ?? 0) + 1;
    perClient.set(client, open);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
    if (open > max) {
      // Answered on its first request (a client reads a response to what it sent, not an
      // unsolicited one), and not kept for longer than it takes to send it.
      overLimit.add(socket);
      socket.setTimeout(Math.min(OVER_LIMIT_LINGER_MS, options.headersTimeoutMs), () => socket.destroy());
    }
  });
  return server;
}

/** Writes a refusal straight on a socket no `ServerResponse` owns, and closes it. */
function answerRaw(socket: Duplex, refusal: RequestRefusal, detail: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { problem, headers } = refusalProblem(refusal, detail);
  const body = JSON.stringify(problem);
  let head = `HTTP/1.1 ${problem.status} ${problem.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  socket.end(`${head}\r\n${body}`);
}

const CLIENT_ERRORS: Readonly<Record<string, readonly [RequestRefusal, string]>> = {
  HPE_HEADER_OVERFLOW: ['header_fields_too_large', 'the request line or the headers exceed the limit'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request was not received in time'],
  // Methods are case-sensitive tokens (RFC 9110 §9.1): `get` is an unknown method too.
  HPE_INVALID_METHOD: ['method_not_implemented', 'unknown request method'],
};

/**
 * Malformed framing in the request line or headers never reaches a handler: llhttp refuses it
 * and we answer on the socket, then close it, since the connection's framing can no longer be
 * trusted.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const [refusal, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [
    'malformed_request',
    'the request could not be parsed',
  ];
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight) {
    // The headers were fine and the request is being forwarded; its body broke (a bad chunk) or
    // stalled. The client still gets an answer if none has started; the upstream sees its
    // request aborted when this connection closes, never completed.
    if (!inFlight.headersSent && socket.writable) {
      writeRefusal(inFlight, refusal, detail);
      // Node stops tracking a request once its response is finished, so closing the socket
      // would not end the body stream undici is still reading: end it, and the upstream
      // request is aborted instead of waiting for bytes that will never come.
      inFlight.once('close', () => inFlight.req.destroy());
    } else {
      socket.destroy();
    }
    return;
  }
  answerRaw(socket, refusal, detail);
}
