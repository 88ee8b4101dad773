import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly at: number;
  json(): { type: string; timestamp: string; data: Record<string, unknown> };
}

/** How the receiver answers the next request: a status, or `hang` (never answers). */
export type Mode = number | 'hang';

/**
 * A real webhook receiver on 127.0.0.1: it records every request and answers as told
 * (`answers` first, one per request, then `mode`). Tests wait on its requests.
 */
export class Receiver {
  readonly requests: Received[] = [];
  mode: Mode = 200;
  answers: Mode[] = [];
  readonly #server: Server;
  readonly #hanging = new Set<ServerResponse>();
  readonly #waiters = new Set<{ match: (r: Received) => boolean; resolve: (r: Received) => void }>();
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const received: Received = {
          headers: req.headers,
          body,
          at: Date.now(),
          json: () => JSON.parse(body) as ReturnType<Received['json']>,
        };
        this.requests.push(received);
        const mode = this.answers.shift() ?? this.mode;
        if (mode === 'hang') this.#hanging.add(res);
        else res.writeHead(mode, { 'content-type': 'text/plain' }).end('ok');
        for (const w of this.#waiters) {
          if (w.match(received)) {
            this.#waiters.delete(w);
            w.resolve(received);
          }
        }
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** The first request (already received or to come) that `match` accepts. */
  next(match: (r: Received) => boolean, timeoutMs = 10_000, what = 'a webhook request'): Promise<Received> {
    const seen = this.requests.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (r: Received) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`receiver: no ${what} within ${timeoutMs} ms (got ${this.requests.length})`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** The `n`th request (1-based) that `match` accepts. */
  nth(n: number, match: (r: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
    let count = 0;
    return this.next((r) => match(r) && ++count >= n, timeoutMs, `request #${n}`).catch((err) => {
      throw err;
    });
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export const ofType =
  (type: string, tokenId?: string) =>
  (r: Received): boolean => {
    const p = r.json();
    return p.type === type && (tokenId === undefined || p.data.token_id === tokenId);
  };

export function webhooksConfig(overrides: Record<string, number | boolean> = {}): string {
  const settings = {
    timeout_ms: 700,
    max_attempts: 4,
    allow_private_targets: true,
    backoff_base_ms: 100,
    backoff_max_ms: 400,
    poll_interval_ms: 50,
    ...overrides,
  };
  return `webhooks:\n${Object.entries(settings)
    .map(([k, v]) => `  ${k}: ${v}`)
    .join('\n')}\n`;
}
