import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { RequestFacts } from '../request/facts.js';
import { FormMethodOverrideScanner, formKindOf } from '../request/form-override.js';
import type { BodyBudget } from './body-budget.js';

export interface BodyIntakeOptions {
  /** A body declared at most this long is read whole before an upstream connection is taken. */
  readonly bufferBytes: number;
  /** After the grace period, a body must have arrived at least this fast on average (0: off). */
  readonly minBytesPerSecond: number;
  readonly rateGraceMs: number;
  readonly budget: BodyBudget;
}

/** What the request's body became: the upstream's body, a reason to refuse it, or nothing (client left). */
export type BodyResult =
  | { readonly kind: 'ready'; readonly body: Buffer | Readable }
  | { readonly kind: 'refused'; readonly reason: BodyViolation; readonly detail: string }
  | { readonly kind: 'aborted' };

export type BodyViolation = 'body_too_large' | 'method_override' | 'body_too_slow' | 'body_buffer_full';

class RequestBodyRefusedError extends Error {
  readonly code = 'PATGATE_REQUEST_BODY_REFUSED';
  constructor() {
    super('request body refused by the gateway');
    this.name = 'RequestBodyRefusedError';
  }
}

const RATE_CHECK_MS = 1_000;
/** How long a refused body is read on before the refusal goes out anyway. */
const LINGER_MS = 1_000;

/**
 * Reads a request body for the upstream, the way nginx does by default: a body that fits the
 * buffer is read whole before any upstream connection is taken, so a client trickling its body
 * holds only its own socket and its share of the memory budget, never the upstream pool. A
 * larger one streams, behind the same checks. Either way each chunk is checked before it goes
 * on: past the route's limit (413), a form carrying `_method` (400), slower than the minimum
 * rate after the grace period (408).
 *
 * `open` reserves the declared length from the budget, or says the budget is spent; `start`
 * then reports once, through `done`, unless the body has already gone to the upstream as a
 * stream, in which case a violation destroys that stream (the upstream sees an aborted request,
 * never a complete one) and is left in `violation` for whoever answers the client.
 */
export class BodyIntake {
  violation: BodyViolation | null = null;
  detail = '';
  readonly #req: IncomingMessage;
  readonly #limit: number;
  readonly #options: BodyIntakeOptions;
  readonly #scanner: FormMethodOverrideScanner | null;
  #reserved = 0;
  readonly #chunked: boolean;
  #chunks: Buffer[] = [];
  #received = 0;
  #stream: Readable | null = null;
  #done: ((result: BodyResult) => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #started = 0;
  #backpressured = false;
  #finished = false;

  /**
   * Starts reading; nothing is taken from the memory budget before bytes arrive, so a client
   * that declares a body and sends nothing holds no share of it.
   */
  static open(
    req: IncomingMessage,
    facts: RequestFacts,
    limit: number,
    options: BodyIntakeOptions,
  ): BodyIntake {
    const form = formKindOf(facts.method, facts.contentType);
    return new BodyIntake(
      req,
      limit,
      options,
      form === null ? null : new FormMethodOverrideScanner(form),
      facts.chunked,
    );
  }

  private constructor(
    req: IncomingMessage,
    limit: number,
    options: BodyIntakeOptions,
    scanner: FormMethodOverrideScanner | null,
    chunked: boolean,
  ) {
    this.#req = req;
    this.#limit = limit;
    this.#options = options;
    this.#scanner = scanner;
    this.#chunked = chunked;
  }

  start(declaredLength: number, done: (result: BodyResult) => void): void {
    this.#done = done;
    this.#started = performance.now();
    const req = this.#req;
    req.on('data', this.#onData);
    req.on('end', this.#onEnd);
    req.on('error', this.#onAborted);
    req.on('close', this.#onClose);
    // The client left while the request waited (on a store lookup): its 'close' has fired.
    if (req.destroyed) {
      this.#onAborted();
      return;
    }
    if (this.#options.minBytesPerSecond > 0) {
      this.#timer = setTimeout(this.#checkRate, this.#options.rateGraceMs);
      this.#timer.unref();
    }
    if (declaredLength > this.#options.bufferBytes) this.#switchToStream();
  }

  /** Gives back the bytes taken from the budget; safe to call more than once. */
  release(): void {
    if (this.#reserved > 0) this.#options.budget.give(this.#reserved);
    this.#reserved = 0;
    this.#stop();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#finished) return;
    this.#received += chunk.length;
    if (this.#received > this.#limit) {
      this.#fail('body_too_large', `the body exceeds ${this.#limit} bytes, the limit of this route`);
      return;
    }
    if (this.#scanner?.push(chunk) === true) {
      this.#fail('method_override', 'a "_method" form field is refused: send the real method instead');
      return;
    }
    const stream = this.#stream;
    if (stream !== null) {
      if (!stream.push(chunk)) {
        this.#backpressured = true;
        this.#req.pause();
      }
      return;
    }
    this.#chunks.push(chunk);
    // Memory is taken as bytes arrive. A chunked body that outgrows the buffer or the budget
    // streams on; a declared one the budget cannot hold is refused (503), so that a crowd of
    // slow bodies never holds the upstream pool.
    const more = this.#received - this.#reserved;
    if (this.#received > this.#options.bufferBytes || !this.#options.budget.tryTake(more)) {
      if (this.#chunked) this.#switchToStream();
      else this.#fail('body_buffer_full', 'the gateway is holding too many request bodies; retry shortly');
      return;
    }
    this.#reserved += more;
  };

  readonly #onEnd = (): void => {
    if (this.#finished) return;
    this.#finished = true;
    this.#clearTimer();
    if (this.#stream !== null) {
      this.#stream.push(null);
      return;
    }
    const chunks = this.#chunks;
    this.#chunks = [];
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#received);
    this.#report({ kind: 'ready', body });
  };

  readonly #onAborted = (): void => {
    if (this.#finished) return;
    this.#finished = true;
    this.#clearTimer();
    if (this.#stream !== null) this.#stream.destroy(new RequestBodyRefusedError());
    else this.#report({ kind: 'aborted' });
  };

  readonly #onClose = (): void => {
    if (!this.#req.complete) this.#onAborted();
  };

  readonly #checkRate = (): void => {
    this.#timer = null;
    if (this.#finished) return;
    const now = performance.now();
    if (this.#backpressured) {
      // The upstream, not the client, is slow: the time it made the client wait does not count.
      this.#started += RATE_CHECK_MS;
    } else {
      const elapsed = now - this.#started - this.#options.rateGraceMs;
      if (elapsed > 0 && this.#received < (this.#options.minBytesPerSecond * elapsed) / 1000) {
        this.#fail(
          'body_too_slow',
          `the body arrived slower than ${this.#options.minBytesPerSecond} bytes per second`,
        );
        return;
      }
    }
    this.#timer = setTimeout(this.#checkRate, RATE_CHECK_MS);
    this.#timer.unref();
  };

  #switchToStream(): void {
    const stream = new Readable({
      read: () => {
        this.#backpressured = false;
        this.#req.resume();
      },
    });
    for (const chunk of this.#chunks) stream.push(chunk);
    this.#chunks = [];
    this.#stream = stream;
    // Held bytes now belong to the stream, which hands them on at the upstream's pace.
    if (this.#reserved > 0) this.#options.budget.give(this.#reserved);
    this.#reserved = 0;
    this.#report({ kind: 'ready', body: stream });
  }

  #fail(reason: BodyViolation, detail: string): void {
    this.#finished = true;
    this.violation = reason;
    this.detail = detail;
    this.#clearTimer();
    if (this.#stream !== null) {
      this.#req.resume();
      this.#stream.destroy(new RequestBodyRefusedError());
      return;
    }
    // Lingering close, as nginx does: the rest of the body is read and dropped before the
    // refusal goes out, since a connection closed with unread bytes is reset (RFC 9112 §9.6)
    // and the client would lose the answer. A client still sending after LINGER_MS gets it then.
    const refused: BodyResult = { kind: 'refused', reason, detail };
    const answer = (): void => {
      clearTimeout(linger);
      this.#req.off('end', answer);
      this.#req.off('close', answer);
      this.#report(refused);
    };
    const linger = setTimeout(answer, LINGER_MS);
    linger.unref();
    this.#req.on('end', answer);
    this.#req.on('close', answer);
    this.#req.resume();
    if (this.#req.complete) answer();
  }

  #report(result: BodyResult): void {
    const done = this.#done;
    this.#done = null;
    done?.(result);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #stop(): void {
    this.#clearTimer();
    const req = this.#req;
    req.off('data', this.#onData);
    req.off('end', this.#onEnd);
    req.off('close', this.#onClose);
    // Kept: a late socket error must still find a listener.
    req.on('error', ignore);
    req.off('error', this.#onAborted);
  }
}

function ignore(): void {}
