import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { BlockedTargetError, guardedLookup, isBlockedAddress } from './target-guard.js';

export interface SenderOptions {
  /** Whole attempt: connect, headers and body of the answer. */
  readonly timeoutMs: number;
  /** Let receivers on loopback, private and link-local addresses through (tests, labs). */
  readonly allowPrivateTargets: boolean;
}

export type SendResult =
  | { readonly ok: true; readonly code: number }
  | { readonly ok: false; readonly code: number | null; readonly error: string };

const USER_AGENT = 'patgate-webhooks/1';
/** A receiver's answer is read this far and then dropped: nothing in it is used. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** POSTs signed payloads; one undici Agent for all deliveries, closed with the worker. */
export class WebhookSender {
  readonly #agent: Agent;

  constructor(private readonly options: SenderOptions) {
    this.#agent = new Agent({
      connect: {
        timeout: options.timeoutMs,
        ...(options.allowPrivateTargets ? {} : { lookup: guardedLookup }),
      },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      // A receiver that keeps sockets open must not hold the worker's.
      keepAliveTimeout: 4_000,
    });
  }

  async send(url: string, payload: string, headers: Record<string, string>): Promise<SendResult> {
    try {
      const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
      // An IP literal is never looked up, so the lookup guard cannot see it: check it here.
      if (!this.options.allowPrivateTargets && isIP(host) !== 0 && isBlockedAddress(host)) {
        throw new BlockedTargetError(host);
      }
      const res = await request(url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: payload,
        // undici follows no redirect: a 3xx is an answer, so a receiver cannot bounce us elsewhere.
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await drain(res.body);
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, code: res.statusCode };
      return { ok: false, code: res.statusCode, error: `receiver answered ${res.statusCode}` };
    } catch (err) {
      return { ok: false, code: null, error: describe(err) };
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}

async function drain(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<void> {
  let read = 0;
  for await (const chunk of body) {
    read += chunk.length;
    if (read > MAX_ANSWER_BYTES) {
      body.destroy();
      return;
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof BlockedTargetError) return err.message;
  const e = err as { name?: string; code?: string; message?: string; cause?: { message?: string } };
  if (
    e.name === 'TimeoutError' ||
    e.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return 'timed out';
  }
  const cause = e.cause?.message;
  return (cause ?? e.message ?? String(err)).slice(0, 200);
}
