import type { ServerResponse } from 'node:http';
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
  readonly #logger: Logger;
  readonly #sampleRate: number;
  readonly #random: () => number;
  readonly #enabled: boolean;

  constructor(logger: Logger, sampleRate: number, random: () => number = Math.random) {
    this.#logger = logger;
    this.#sampleRate = sampleRate;
    this.#random = random;
    this.#enabled = logger.isLevelEnabled('info');
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
      res.once('close', () => this.#write(record, res, started));
    }
    return record;
  }

  #write(record: AccessRecord, res: ServerResponse, started: number): void {
    const refused = record.reason !== undefined;
    if (!refused && this.#sampleRate < 1 && this.#random() >= this.#sampleRate) return;
    this.#logger.info(
      {
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
      },
      'request',
    );
  }
}
