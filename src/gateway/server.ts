import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import {
  type RawRequest,
  type RequestReaderOptions,
  readRequest,
  type ShapeRefusal,
} from '../request/facts.js';
import type { RequestRefusal } from '../request/refusal.js';
import { DEFAULT_MAX_TARGET_LENGTH } from '../request/target.js';
import { canonicalAddress, TrustedProxies } from '../request/trusted-proxies.js';
import type { Gateway } from './pipeline.js';
import { answerFor } from './refusal.js';
import { writeRefusal, writeRefusalOnSocket } from './write-refusal.js';

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
  /** Forward client header names holding `_` (`headers.allow_underscores`). */
  readonly allowUnderscores: boolean;
  /** HTTPS with this certificate and key (PEM); plain HTTP without. */
  readonly tls?: GatewayTls;
}

export interface GatewayTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Modern TLS only: 1.2 and 1.3 with Node's default (forward-secret, AEAD) cipher list. A new
 * certificate is swapped in with `server.setSecureContext(tlsOptions(...))` (SIGHUP).
 */
export function tlsOptions(tls: GatewayTls): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' };
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
  allowUnderscores: false,
};

/** How long a connection over its client's share may take to send the request that gets the 429. */
const OVER_LIMIT_LINGER_MS = 1_000;

/**
 * The gateway listener. Each request is read once into its facts (`request/facts.ts`), in the
 * order a parser meets it: version, method, target, headers, query. Only then does the pipeline
 * see it, and it streams with undici straight into the Node response. Nothing else parses the
 * request: llhttp frames it, `readRequest` reads it, and what was checked is what is forwarded.
 */
export function createGatewayServer(
  gateway: Gateway,
  options: GatewayServerOptions = DEFAULT_GATEWAY_SERVER_OPTIONS,
): Server {
  const reader: RequestReaderOptions = {
    maxTargetLength: options.maxTargetLength,
    maxHeaderCount: options.maxHeaderCount,
    trustedProxies: options.trustedProxies,
    allowUnderscores: options.allowUnderscores,
  };
  const overLimit = new WeakSet<Socket>();

  const onRequest = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void => {
    if (overLimit.has(req.socket)) {
      gateway.refuseShape(req, res, TOO_MANY_CONNECTIONS);
      return;
    }
    const read = readRequest(rawRequestOf(req, expectContinue), reader);
    if (read.kind === 'shape') gateway.refuseShape(req, res, read);
    else gateway.handle(req, res, read);
  };

  const httpOptions = {
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
    // Checked in `readRequest`, so that a missing Host gets a problem+json answer.
    requireHostHeader: false,
  };
  const onPlainRequest = (req: IncomingMessage, res: ServerResponse): void => onRequest(req, res, false);
  const server: Server =
    options.tls === undefined
      ? createServer(httpOptions, onPlainRequest)
      : createHttpsServer(
          // A handshake is bounded like the headers that follow it (Node's default is 120 s).
          { ...httpOptions, ...tlsOptions(options.tls), handshakeTimeout: options.headersTimeoutMs },
          onPlainRequest,
        );
  // Node's own cap (2000 by default) silently drops the fields past it from `req.headers` while
  // `req.rawHeaders` keeps them all: two views of one request. The count is enforced above.
  server.maxHeadersCount = 0;
  // With a listener, Node leaves `100 Continue` to the pipeline, which sends it only once the
  // request is authorized (RFC 9110 §10.1.1).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, true));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    gateway.refuseShape(
      req,
      res,
      shape('expectation_failed', 'the only expectation supported is 100-continue'),
    );
  });
  // CONNECT would turn the gateway into a TCP tunnel (RFC 9110 §9.3.6).
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    writeRefusalOnSocket(
      socket,
      answerFor(shape('method_not_implemented', 'method CONNECT is not supported')),
    );
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    answerClientError(error, socket);
  });

  const max = options.maxConnectionsPerClient;
  const trusted = options.trustedProxies;
  const perClient = new Map<string, number>();
  // Counted on the socket requests arrive on: the TLS socket over HTTPS, the TCP one otherwise.
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
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

/** What Node's parser handed over of `req`, for `readRequest`. */
export function rawRequestOf(req: IncomingMessage, expectContinue: boolean): RawRequest {
  return {
    method: req.method ?? '',
    url: req.url ?? '',
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    rawHeaders: req.rawHeaders,
    peerAddress: req.socket.remoteAddress ?? '',
    expectContinue,
    secure: (req.socket as { encrypted?: boolean }).encrypted === true,
  };
}

function shape(reason: RequestRefusal, detail: string): ShapeRefusal {
  return { kind: 'shape', reason, detail };
}

const TOO_MANY_CONNECTIONS = shape('too_many_connections', 'too many open connections from this client');

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
  const [reason, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [
    'malformed_request',
    'the request could not be parsed',
  ];
  const answer = answerFor(shape(reason, detail));
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight) {
    // The headers were fine and the request is being forwarded; its body broke (a bad chunk) or
    // stalled. The client still gets an answer if none has started; the upstream sees its
    // request aborted when this connection closes, never completed.
    if (!inFlight.headersSent && socket.writable) {
      writeRefusal(inFlight, answer);
      // Node stops tracking a request once its response is finished, so closing the socket
      // would not end the body stream undici is still reading: end it, and the upstream
      // request is aborted instead of waiting for bytes that will never come.
      inFlight.once('close', () => inFlight.req.destroy());
    } else {
      socket.destroy();
    }
    return;
  }
  writeRefusalOnSocket(socket, answer);
}
