import type { IncomingMessage } from 'node:http';
import { FormMethodOverrideScanner, formKindOf } from '../request/form-override.js';

class RequestBodyRefusedError extends Error {
  readonly code = 'PATGATE_REQUEST_BODY_REFUSED';
  constructor() {
    super('request body refused by the gateway');
    this.name = 'RequestBodyRefusedError';
  }
}

function ignoreError(): void {}

/**
 * Watches a request body as it streams to the upstream: a chunked body past the route's limit
 * (a declared Content-Length was checked up front), or a form body carrying `_method`, is
 * stopped before the offending chunk is forwarded.
 *
 * How it stops it: this listener is prepended, so it sees each chunk before undici's; emitting
 * `error` synchronously runs undici's error handler, which aborts the upstream request and marks
 * the body finished, so undici's own `data` listener drops that same chunk (undici
 * lib/dispatcher/client-h1.js `writeStream`). undici then destroys the request stream with the
 * socket detached (nodejs/node#38505), so the client connection stays usable for the answer.
 */
export class BodyGuard {
  violation: 'body_too_large' | 'method_override' | null = null;
  detail = '';
  readonly #req: IncomingMessage;
  readonly #limit: number;
  readonly #scanner: FormMethodOverrideScanner | null;
  #received = 0;

  static for(req: IncomingMessage, limit: number): BodyGuard | null {
    const { headers } = req;
    const chunked = headers['transfer-encoding'] !== undefined;
    if (!chunked && (headers['content-length'] === undefined || headers['content-length'] === '0')) {
      return null;
    }
    const form = formKindOf(req.method ?? '', headers['content-type']);
    if (!chunked && form === null) return null;
    return new BodyGuard(
      req,
      chunked ? limit : Number.POSITIVE_INFINITY,
      form === null ? null : new FormMethodOverrideScanner(form),
    );
  }

  private constructor(req: IncomingMessage, limit: number, scanner: FormMethodOverrideScanner | null) {
    this.#req = req;
    this.#limit = limit;
    this.#scanner = scanner;
    // Absorbs the error emitted below and the one undici's destroy emits after it.
    req.on('error', ignoreError);
    // `prependListener` does not switch the stream to flowing mode: undici does, when it starts.
    req.prependListener('data', this.#onData);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.violation !== null) return;
    this.#received += chunk.length;
    if (this.#received > this.#limit) {
      this.violation = 'body_too_large';
      this.detail = `the body exceeds ${this.#limit} bytes, the limit of this route`;
    } else if (this.#scanner?.push(chunk) === true) {
      this.violation = 'method_override';
      this.detail = 'a "_method" form field is refused: send the real method instead';
    } else {
      return;
    }
    this.#req.emit('error', new RequestBodyRefusedError());
  };
}
