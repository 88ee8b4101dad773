import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP upstream on port 0 for tests. It records every request and answers by path:
 * - `/big/{bytes}` streams `bigBody(bytes)`; with `?hold={n}` it stops after n bytes until `release()`
 * - `/echo` echoes the request body
 * - `/slow/{ms}` waits that long before sending headers
 * - `/reset` sends headers and part of a body, then destroys the socket
 * - `/response-headers` answers with repeated `set-cookie`, a Connection-named header and a
 *   spoofed `x-patgate-token-expiration`
 * - anything else: 200 JSON `{ method, url, headers }`
 */
export interface RecordedRequest {
  method: string;
  /** The request-target exactly as received. */
  url: string;
  rawHeaders: string[];
  /** Filled once the request body has been read completely. */
  bodySha256: string | null;
  bodyLength: number;
  /** `aborted`: the connection closed before the response was finished. */
  outcome: 'open' | 'finished' | 'aborted';
  /** Resolves when `outcome` leaves `open`. */
  settled: Promise<RecordedRequest>;
  /** Body bytes this upstream has written so far (for `/big`). */
  bytesSent: number;
}

export interface TestUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Resolves with the first `n` recorded requests once they have arrived (headers seen). */
  waitForRequests(n: number): Promise<RecordedRequest[]>;
  /** Lets every `/big?hold=` response that is waiting continue. */
  release(): void;
  close(): Promise<void>;
}

const CHUNK_SIZE = 64 * 1024;
const RESET_DECLARED_LENGTH = 100_000;
const RESET_SENT_LENGTH = 1_000;

/** The deterministic content `/big/{bytes}` serves. */
export function bigBody(length: number): Buffer {
  const body = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) body[i] = i % 251;
  return body;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function startTestUpstream(): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  const arrivalWaiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  let holds: (() => void)[] = [];

  const server = createServer((req, res) => {
    let markSettled: (r: RecordedRequest) => void = () => {};
    const record: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: [...req.rawHeaders],
      bodySha256: null,
      bodyLength: 0,
      outcome: 'open',
      settled: new Promise((resolve) => {
        markSettled = resolve;
      }),
      bytesSent: 0,
    };
    requests.push(record);
    for (const wake of arrivalWaiters) wake();
    res.on('close', () => {
      record.outcome = res.writableFinished ? 'finished' : 'aborted';
      markSettled(record);
    });

    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      record.bodyLength += chunk.length;
    });
    req.on('error', () => {});
    const isEcho = record.url.split('?')[0] === '/echo';
    if (isEcho) {
      // Streams back while reading, so both directions are under backpressure at once.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    }
    req.on('end', () => {
      record.bodySha256 = hash.digest('hex');
      if (!isEcho) respond(req, res, record);
    });
  });

  function respond(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): void {
    const url = new URL(req.url ?? '/', 'http://upstream.test');
    const [, first, second] = url.pathname.split('/');
    if (first === 'big' && second !== undefined) {
      const hold = url.searchParams.get('hold');
      void streamBig(res, record, Number(second), hold === null ? null : Number(hold));
    } else if (first === 'slow' && second !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        sendJson(req, res);
      }, Number(second));
      timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    } else if (first === 'reset') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': RESET_DECLARED_LENGTH,
      });
      res.write(bigBody(RESET_SENT_LENGTH), () => res.socket?.destroy());
    } else if (first === 'response-headers') {
      res.writeHead(200, [
        'set-cookie',
        'a=1; Path=/',
        'set-cookie',
        'b=2; Path=/',
        'connection',
        'x-internal',
        'x-internal',
        'secret',
        'x-patgate-token-expiration',
        'spoofed',
        'content-type',
        'text/plain',
      ]);
      res.end('ok');
    } else {
      sendJson(req, res);
    }
  }

  async function streamBig(
    res: ServerResponse,
    record: RecordedRequest,
    length: number,
    hold: number | null,
  ): Promise<void> {
    const body = bigBody(length);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length });
    let offset = 0;
    let held = false;
    while (offset < length && !res.destroyed) {
      if (hold !== null && !held && offset >= hold) {
        held = true;
        await new Promise<void>((resolve) => holds.push(resolve));
        continue;
      }
      const end = Math.min(length, offset + CHUNK_SIZE, hold !== null && !held ? hold : length);
      const ok = res.write(body.subarray(offset, end));
      record.bytesSent = end;
      offset = end;
      if (!ok) await waitForDrainOrClose(res);
    }
    if (!res.destroyed) res.end();
  }

  function release(): void {
    const waiting = holds;
    holds = [];
    for (const resume of waiting) resume();
  }

  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    waitForRequests(n) {
      return new Promise((resolve) => {
        const check = (): void => {
          if (requests.length < n) return;
          arrivalWaiters.delete(check);
          resolve(requests.slice(0, n));
        };
        arrivalWaiters.add(check);
        check();
      });
    },
    release,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function sendJson(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function waitForDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
