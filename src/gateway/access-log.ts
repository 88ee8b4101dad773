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

/** Pending lines are written at this size even before the flush timer fires. */
const FLUSH_BYTES = 64 * 1024;

/**
 * A string field's JSON form. Most values (ids, logins, route patterns, methods) hold only
 * these characters, which JSON writes as they are; anything else goes through `JSON.stringify`,
 * so a hostile login or a stored value can never break the line.
 */
const PLAIN = /^[A-Za-z0-9 ._:/{}+@=-]*$/;

function jsonString(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * One JSON line per request at `info`: method, route pattern, status, duration, bytes, token id,
 * user, request id, and for a refusal `granted: false` with its `reason_id` (the same fields
 * every time). Allowed requests are sampled at `log.allowed_sample_rate` for very busy gateways;
 * refusals are always written.
 *
 * Lines are buffered and written together every `flushMs` (or at 64 KiB), as nginx's
 * `access_log ... buffer= flush=` does: one write per interval instead of one per request.
 * `flush()` writes what is pending (on shutdown); a crash loses at most `flushMs` of lines.
 */
export class AccessLog {
  readonly #sampleRate: number;
  readonly #random: () => number;
  readonly #enabled: boolean;
  readonly #flushMs: number;
  /** Writes finished lines to the logger's own destination. */
  readonly #write: (lines: string) => void;
  #pending = '';
  #timer: NodeJS.Timeout | null = null;
  /** `"time":"…"` of the current millisecond: under load many lines share one. */
  #timeMs = -1;
  #timeField = '';
  #second = -1;
  #secondPrefix = '';
  /** The logger's bindings as pino serialises them: `,"service":"patgate"`, or empty. */
  readonly #bindings: string;

  constructor(logger: Logger, sampleRate: number, random: () => number = Math.random, flushMs = 100) {
    this.#sampleRate = sampleRate;
    this.#random = random;
    this.#enabled = logger.isLevelEnabled('info');
    this.#flushMs = flushMs;
    // One line per request is the one log call on the hot path: it is serialised here, with
    // the fields it always has, and written to the logger's stream, the same destination and
    // format as every pino line. pino's generic path (a redaction pass over every object, its
    // serialiser) cost more than the rest of the request's own work; the fields here are fixed
    // and hold no header, path or secret, so redaction has nothing to do.
    const stream = Reflect.get(logger, pino.symbols.streamSym) as { write(line: string): void };
    this.#write = (lines) => stream.write(lines);
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
      // `close` is emitted once; `on` spares the wrapper `once` allocates per request.
      res.on('close', () => this.#line(record, res, started));
    }
    return record;
  }

  /** Writes the pending lines now (shutdown). */
  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#pending === '') return;
    const lines = this.#pending;
    this.#pending = '';
    this.#write(lines);
  }

  #line(record: AccessRecord, res: ServerResponse, started: number): void {
    const refused = record.reason !== undefined;
    if (!refused && this.#sampleRate < 1 && this.#random() >= this.#sampleRate) return;
    // Hand-built in pino's field order; JSON.stringify of the whole object cost several times
    // more. Numbers and booleans are written as they are; strings through `jsonString`.
    const duration = Math.round((performance.now() - started) * 1000) / 1000;
    let line = `{"level":30,${this.#time()}${this.#bindings},"request_id":${jsonString(record.requestId)},"method":${jsonString(record.method)},"route":${jsonString(record.route)},"status":${res.statusCode},"duration_ms":${duration},"bytes":${record.bytes}`;
    if (record.tokenId !== undefined) line += `,"token_id":${jsonString(record.tokenId)}`;
    if (record.user !== undefined) line += `,"user":${jsonString(record.user)}`;
    line += `,"client":${jsonString(record.client)},"granted":${!refused}`;
    if (refused) line += `,"reason_id":${jsonString(record.reason as string)}`;
    // The client left before the answer was complete.
    if (!res.writableFinished) line += ',"aborted":true';
    this.#pending += `${line},"msg":"request"}\n`;
    if (this.#pending.length >= FLUSH_BYTES) this.flush();
    else if (this.#timer === null) {
      this.#timer = setTimeout(this.#onTimer, this.#flushMs);
      // Pending lines never keep the process alive; shutdown calls flush().
      this.#timer.unref();
    }
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.flush();
  };

  #time(): string {
    const now = Date.now();
    if (now !== this.#timeMs) {
      this.#timeMs = now;
      const second = now - (now % 1000);
      if (second !== this.#second) {
        this.#second = second;
        // `"time":"2026-12-03T14:29:07.` — the date is formatted once a second.
        this.#secondPrefix = `"time":"${new Date(second).toISOString().slice(0, 20)}`;
      }
      const ms = now - second;
      this.#timeField = `${this.#secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
    }
    return this.#timeField;
  }
}
