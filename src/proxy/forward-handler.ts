import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { ClientAbortedError } from './errors.js';
import { filterResponseHeaders } from './headers.js';
import { classifyUpstreamError, type UpstreamErrorKind } from './upstream-error.js';

export type ForwardOutcome =
  | { kind: 'ok'; status: number; bytes: number }
  | { kind: 'upstream_error'; error: UpstreamErrorKind; afterHeaders: boolean; cause: unknown }
  | { kind: 'client_aborted' };

/** Called once per forwarded request, when both sides are done with it. */
export type ForwardSettled = (outcome: ForwardOutcome) => void;

export const CLIENT_ABORTED: ForwardOutcome = Object.freeze({ kind: 'client_aborted' });

/**
 * Bridges one undici request to one Node `ServerResponse`: status and headers are written when the
 * upstream's arrive, body chunks are written as they come, and backpressure from the client pauses
 * the upstream socket. Settles exactly once; never writes an error response itself.
 *
 * It implements the handler interface undici's own core speaks (`onConnect`, `onHeaders`,
 * `onData`, `onComplete`, `onError`; the one `Pool.stream` and `Pool.request` use inside), not
 * the `onRequestStart`/`onResponse*` one: undici 7 adapts that one to this one per request with
 * a wrapper, a controller and a parse of every response header into an object the gateway never
 * reads (`lib/handler/unwrap-handler.js`). The paired benchmark measured the difference on every
 * proxied request (see docs/performance.md); revisit on the next undici major.
 */
export class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  /** Flat `[name, value, ...]` appended to the upstream's response headers. */
  readonly #extraHeaders: readonly string[];
  readonly #settle: ForwardSettled;
  #abort: ((reason?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #settled = false;
  #clientGone = false;
  #headersWritten = false;
  #upstreamDone = false;
  #watchingDrain = false;
  #status = 0;
  /** Body bytes relayed to the client, for the access line. */
  #bytes = 0;

  constructor(res: ServerResponse, extraHeaders: readonly string[], settle: ForwardSettled) {
    this.#res = res;
    this.#extraHeaders = extraHeaders;
    this.#settle = settle;
    res.on('close', this.#onClientClose);
    res.on('finish', this.#onFinish);
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    // The client left while the request was still queued for a connection.
    if (this.#clientGone) abort(new ClientAbortedError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim responses (RFC 9110 §15.2) are not relayed; Node answers 100-continue itself.
    if (statusCode < 200) return true;
    this.#resume = resume;
    const flat = filterResponseHeaders(rawHeaders);
    const extra = this.#extraHeaders;
    for (let i = 0; i < extra.length; i++) flat.push(extra[i] as string);
    try {
      this.#res.writeHead(statusCode, flat);
    } catch (err) {
      // Node refused a header the upstream sent; nothing reached the client yet, so the gateway
      // can still answer 502.
      this.#abort?.(err instanceof Error ? err : new Error(String(err)));
      return true;
    }
    this.#headersWritten = true;
    this.#status = statusCode;
    return true;
  }

  /** `false` pauses the upstream socket until the client drains. */
  onData(chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    if (this.#res.write(chunk)) return true;
    // Listened for only once the client pushes back: most responses never do, and every
    // listener added is one more to remove per request.
    if (!this.#watchingDrain) {
      this.#watchingDrain = true;
      this.#res.on('drain', this.#onDrain);
    }
    return false;
  }

  onComplete(): void {
    this.#upstreamDone = true;
    // A destroyed response emits neither 'finish' nor 'close' on end(): settle here.
    if (this.#res.destroyed) {
      this.#finish(CLIENT_ABORTED);
      return;
    }
    // Settles on 'finish' (flushed to the client) or 'close' (client left first).
    this.#res.end();
  }

  // Also how undici reports a request it refused before starting it (bad options, closed pool).
  onError(error: Error): void {
    this.#upstreamDone = true;
    if (this.#clientGone || this.#res.destroyed) {
      this.#finish(CLIENT_ABORTED);
      return;
    }
    const kind = classifyUpstreamError(error);
    if (this.#headersWritten) {
      // The status line is already out: the only honest signal left is a cut connection, which
      // the client sees as an incomplete message (RFC 9112 §8) rather than a hang.
      this.#res.destroy();
    }
    this.#finish({ kind: 'upstream_error', error: kind, afterHeaders: this.#headersWritten, cause: error });
  }

  readonly #onDrain = (): void => {
    this.#resume?.();
  };

  readonly #onFinish = (): void => {
    if (this.#upstreamDone) this.#finish({ kind: 'ok', status: this.#status, bytes: this.#bytes });
  };

  readonly #onClientClose = (): void => {
    if (this.#settled || this.#res.writableFinished) return;
    this.#clientGone = true;
    if (this.#upstreamDone) {
      this.#finish(CLIENT_ABORTED);
    } else {
      // Settles through onError once undici has torn the upstream request down; if the request
      // is still queued, onConnect aborts it.
      this.#abort?.(new ClientAbortedError());
    }
  };

  #finish(outcome: ForwardOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    const res = this.#res;
    res.off('close', this.#onClientClose);
    if (this.#watchingDrain) res.off('drain', this.#onDrain);
    res.off('finish', this.#onFinish);
    this.#settle(outcome);
  }
}
