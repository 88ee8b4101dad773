import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { ClientAbortedError } from './errors.js';
import { filterResponseHeaders } from './headers.js';
import { classifyUpstreamError, type UpstreamErrorKind } from './upstream-error.js';

export type ForwardOutcome =
  | { kind: 'ok'; status: number }
  | { kind: 'upstream_error'; error: UpstreamErrorKind; afterHeaders: boolean; cause: unknown }
  | { kind: 'client_aborted' };

/**
 * Bridges one undici request to one Node `ServerResponse`: status and headers are written when the
 * upstream's arrive, body chunks are written as they come, and backpressure from the client pauses
 * the upstream socket. Settles exactly once; never writes an error response itself.
 */
export class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #responseHeaders: Readonly<Record<string, string>> | undefined;
  readonly #settle: (outcome: ForwardOutcome) => void;
  #controller: Dispatcher.DispatchController | null = null;
  #settled = false;
  #clientGone = false;
  #headersWritten = false;
  #upstreamDone = false;
  #watchingDrain = false;
  #status = 0;

  constructor(
    res: ServerResponse,
    responseHeaders: Readonly<Record<string, string>> | undefined,
    settle: (outcome: ForwardOutcome) => void,
  ) {
    this.#res = res;
    this.#responseHeaders = responseHeaders;
    this.#settle = settle;
    res.on('close', this.#onClientClose);
    res.on('finish', this.#onFinish);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The client left while the request was still queued for a connection.
    if (this.#clientGone) controller.abort(new ClientAbortedError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx interim responses (RFC 9110 §15.2) are not relayed; Node answers 100-continue itself.
    if (statusCode < 200) return;
    const raw = Array.isArray(controller.rawHeaders) ? controller.rawHeaders : flatten(headers);
    const flat = filterResponseHeaders(raw);
    const extra = this.#responseHeaders;
    if (extra !== undefined) {
      for (const name in extra) flat.push(name, extra[name] as string);
    }
    try {
      this.#res.writeHead(statusCode, flat);
    } catch (err) {
      // Node refused a header the upstream sent; nothing reached the client yet, so the gateway
      // can still answer 502.
      controller.abort(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#headersWritten = true;
    this.#status = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res.write(chunk)) return;
    controller.pause();
    // Listened for only once the client pushes back: most responses never do, and every
    // listener added is one more to remove per request.
    if (!this.#watchingDrain) {
      this.#watchingDrain = true;
      this.#res.on('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    this.#upstreamDone = true;
    // Settles on 'finish' (flushed to the client) or 'close' (client left first).
    this.#res.end();
  }

  // `controller` is undefined when undici rejects the request before it starts (bad options,
  // closed pool): the dispatcher reports that through this same callback.
  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#upstreamDone = true;
    if (this.#clientGone || this.#res.destroyed) {
      this.#finish({ kind: 'client_aborted' });
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
    this.#controller?.resume();
  };

  readonly #onFinish = (): void => {
    if (this.#upstreamDone) this.#finish({ kind: 'ok', status: this.#status });
  };

  readonly #onClientClose = (): void => {
    if (this.#settled || this.#res.writableFinished) return;
    this.#clientGone = true;
    if (this.#upstreamDone) {
      this.#finish({ kind: 'client_aborted' });
    } else {
      // Settles through onResponseError once undici has torn the upstream request down; if the
      // request is still queued, onRequestStart aborts it.
      this.#controller?.abort(new ClientAbortedError());
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

/** Fallback for a dispatcher that hands over parsed headers only. */
function flatten(headers: IncomingHttpHeaders): string[] {
  const flat: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value)) {
      for (const item of value) flat.push(name, item);
    } else if (value !== undefined) {
      flat.push(name, value);
    }
  }
  return flat;
}
