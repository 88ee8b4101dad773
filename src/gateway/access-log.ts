import type { ServerResponse } from 'node:http';
import pino from 'pino';
import type { Logger } from '../observability/logger.js';

/**
 * What one request's access line says; the pipeline fills it in as it learns, and the line is
 * written once, when the response closes. Never a path or a header: either may hold a secret.
 */
export interface AccessRecord {
  readonly requestId: string;
  readonly method: string;
  readonly client: string;
  route: string;
  tokenId: string | undefined;
  user: string | undefined;
  /** Why it was refused; undefined for a request the upstream answered. */
  reason: string | undefined;
  /** Body bytes sent to the client. */
  bytes: number;
}

/**
 * One JSON line per request at `info`: method, route pattern, status, duration, bytes, token id,
 * user, request id, and for a refusal `granted: false` with its `reason_id` (the same fields
 * every time). Allowed requests are sampled at `log.allowed_sample_rate` for very busy gateways;
 * refusals are always written.
 */
export class AccessLog {
  readonly #sampleRate: number;
  readonly #random: () => number;
  readonly #enabled: boolean;
  /** Writes one finished line to the logger's own destination. */
  readonly #write: (line: string) => void;
  /** Lines of this turn of the event loop, written together at its end. */
  #pending = '';
  #flushing = false;
  /** The logger's bindings as pino serialises them: `,"service":"patgate"`, or empty. */
  readonly #bindings: string;

  constructor(logger: Logger, sampleRate: number, random: () => number = Math.random) {
    this.#sampleRate = sampleRate;
    this.#random = random;
    this.#enabled = logger.isLevelEnabled('info');
    // One line per request is the one log call on the hot path: it is serialised here, with
    // the fields it always has, and written to the logger's stream, the same destination and
    // format as every pino line. pino's generic path (a redaction pass over every object, its
    // serialiser) cost more than the rest of the request's own work; the fields here are fixed
    // and hold no header, path or secret, so redaction has nothing to do.
    const stream = Reflect.get(logger, pino.symbols.streamSym) as { write(line: string): void };
    this.#write = (line) => stream.write(line);
    // pino's own serialised bindings (`,"service":"patgate"`, and a worker's `worker` and `pid`).
    const chindings = Reflect.get(logger, pino.symbols.chindingsSym);
    this.#bindings = typeof chindings === 'string' ? chindings : '';
  }

  /** Starts the record of a request on `res`; it is written when `res` closes. */
  begin(res: ServerResponse, requestId: string, method: string, client: string, route: string): AccessRecord {
    const record: AccessRecord = {
      requestId,
      method,
      client,
      route,
      tokenId: undefined,
      user: undefined,
      reason: undefined,
      bytes: 0,
    };
    if (this.#enabled) {
      const started = performance.now();
      res.once('close', () => this.#line(record, res, started));
    }
    return record;
  }

  #line(record: AccessRecord, res: ServerResponse, started: number): void {
    const refused = record.reason !== undefined;
    if (!refused && this.#sampleRate < 1 && this.#random() >= this.#sampleRate) return;
    const fields = {
      request_id: record.requestId,
      method: record.method,
      route: record.route,
      status: res.statusCode,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
      bytes: record.bytes,
      token_id: record.tokenId,
      user: record.user,
      client: record.client,
      granted: !refused,
      reason_id: record.reason,
      // The client left before the answer was complete.
      aborted: res.writableFinished ? undefined : true,
      msg: 'request',
    };
    const body = JSON.stringify(fields);
    this.#pending += `{"level":30,"time":"${new Date().toISOString()}"${this.#bindings},${body.slice(1)}\n`;
    // Under load many responses close in one turn: their lines go out in one write.
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushing = false;
    const lines = this.#pending;
    this.#pending = '';
    this.#write(lines);
  };
}
