import { connect, type Socket } from 'node:net';

/**
 * Raw HTTP/1.1 over a TCP socket, for attack tests: the bytes written are exactly the bytes
 * given (no client normalises a target, merges headers or fixes framing), and the answer is
 * parsed by hand so a malformed one shows up as such.
 */

export interface RawResponse {
  /** e.g. `HTTP/1.1 400 Bad request`. */
  readonly statusLine: string;
  readonly status: number;
  /** Lower-case names; every value of repeated fields in order. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: Buffer;
  /** The body as UTF-8. */
  readonly text: string;
  /** Parses the body as JSON (the problem+json answers). */
  json(): Record<string, unknown>;
  /** First value of a header, or undefined. */
  header(name: string): string | undefined;
}

export interface RawExchange {
  /** Final (non-1xx) responses, in order. */
  readonly responses: readonly RawResponse[];
  /** 1xx interim responses seen (e.g. `100 Continue`). */
  readonly interim: readonly RawResponse[];
  /** The server closed (or reset) the connection before we did. */
  readonly closedByServer: boolean;
  /** Everything received, for messages. */
  readonly raw: Buffer;
}

export interface SendRawOptions {
  /** Resolve once this many final responses are complete (default 1). */
  readonly responses?: number;
  /** Give up after this long (default 10 s); rejects with what was received. */
  readonly timeoutMs?: number;
  /** The requests are HEAD: their responses carry no body whatever their headers say. */
  readonly head?: boolean;
  /** Half-close our side after writing (default false: some servers answer and close first). */
  readonly endAfterWrite?: boolean;
}

/** `http://127.0.0.1:1234` (or `127.0.0.1:1234`) to host and port. */
export function addressOf(url: string): { host: string; port: number } {
  const { hostname, port } = new URL(url.includes('://') ? url : `http://${url}`);
  return { host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port) };
}

type Parsed = { response: RawResponse; end: number } | null;

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** One response from `buf[offset..]`, or null while incomplete. `atEof`: the peer closed. */
export function parseResponse(buf: Buffer, offset: number, atEof: boolean, head = false): Parsed {
  const headEnd = buf.indexOf(CRLFCRLF, offset);
  if (headEnd < 0) return null;
  const lines = buf.subarray(offset, headEnd).toString('latin1').split('\r\n');
  const statusLine = lines[0] ?? '';
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (match === null) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(statusLine)}`);
  const status = Number(match[1]);
  const headers: Record<string, string[]> = Object.create(null);
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed response header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const values = headers[name] ?? [];
    values.push(value);
    headers[name] = values;
  }
  let bodyStart = headEnd + 4;
  let body: Buffer;
  let end: number;
  const noBody = head || status < 200 || status === 204 || status === 304;
  const length = headers['content-length']?.[0];
  const chunked = headers['transfer-encoding']?.some((v) => /chunked/i.test(v)) ?? false;
  if (noBody) {
    body = Buffer.alloc(0);
    end = bodyStart;
  } else if (chunked) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', bodyStart);
      if (lineEnd < 0) return null;
      const size = Number.parseInt(buf.subarray(bodyStart, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('malformed chunk size in response');
      const dataStart = lineEnd + 2;
      if (size === 0) {
        // No trailers expected from patgate or the test upstream.
        if (buf.length < dataStart + 2) return null;
        end = dataStart + 2;
        break;
      }
      if (buf.length < dataStart + size + 2) return null;
      parts.push(buf.subarray(dataStart, dataStart + size));
      bodyStart = dataStart + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (length !== undefined) {
    const size = Number(length);
    if (buf.length < bodyStart + size) return null;
    body = Buffer.from(buf.subarray(bodyStart, bodyStart + size));
    end = bodyStart + size;
  } else {
    // Delimited by close (RFC 9112 §6.3 rule 8).
    if (!atEof) return null;
    body = Buffer.from(buf.subarray(bodyStart));
    end = buf.length;
  }
  const text = body.toString('utf8');
  return {
    end,
    response: {
      statusLine,
      status,
      headers,
      body,
      text,
      json: () => JSON.parse(text) as Record<string, unknown>,
      header: (name) => headers[name.toLowerCase()]?.[0],
    },
  };
}

/** A raw connection that is written to and read from step by step (slow clients, pipelining). */
export interface RawConnection {
  readonly socket: Socket;
  write(bytes: string | Buffer): Promise<void>;
  /** Resolves with the next final response (1xx are collected in `interim`). */
  nextResponse(timeoutMs?: number): Promise<RawResponse>;
  /** Resolves once the server has sent `100 Continue`. */
  nextInterim(timeoutMs?: number): Promise<RawResponse>;
  readonly interim: RawResponse[];
  /** Resolves when the socket is closed, by either side. */
  readonly closed: Promise<void>;
  /** True once the server ended or reset the connection. */
  readonly closedByServer: boolean;
  received(): Buffer;
  destroy(): void;
}

export async function openRaw(url: string, options: { head?: boolean } = {}): Promise<RawConnection> {
  const { host, port } = addressOf(url);
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let offset = 0;
  let eof = false;
  let closedByServer = false;
  let weClosed = false;
  const finals: RawResponse[] = [];
  const interim: RawResponse[] = [];
  const waiters = new Set<() => void>();
  let parseError: Error | null = null;

  const pump = (): void => {
    try {
      for (;;) {
        const parsed = parseResponse(buf, offset, eof, options.head);
        if (parsed === null) break;
        offset = parsed.end;
        (parsed.response.status < 200 ? interim : finals).push(parsed.response);
      }
    } catch (error) {
      parseError = error instanceof Error ? error : new Error(String(error));
    }
    for (const wake of [...waiters]) wake();
  };
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    pump();
  });
  socket.on('error', () => {
    // A reset is a close by the server for these tests; the data before it still counts.
  });
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      eof = true;
      if (!weClosed) closedByServer = true;
      pump();
      resolve();
    });
  });
  socket.on('end', () => {
    eof = true;
    if (!weClosed) closedByServer = true;
    pump();
  });

  let finalsTaken = 0;
  let interimTaken = 0;
  const waitFor = <T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = take();
        if (value !== undefined) {
          done();
          resolve(value);
        } else if (parseError !== null) {
          done();
          reject(parseError);
        } else if (eof && socket.destroyed) {
          done();
          reject(new Error(`connection closed before ${what}; received:\n${buf.toString('latin1')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; received:\n${buf.toString('latin1')}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    socket,
    interim,
    closed,
    get closedByServer() {
      return closedByServer;
    },
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        socket.write(bytes, (err) => (err ? reject(err) : resolve()));
      }),
    nextResponse: (timeoutMs = 10_000) =>
      waitFor(
        () => (finals.length > finalsTaken ? finals[finalsTaken++] : undefined),
        'final response',
        timeoutMs,
      ),
    nextInterim: (timeoutMs = 10_000) =>
      waitFor(
        () => (interim.length > interimTaken ? interim[interimTaken++] : undefined),
        'interim response',
        timeoutMs,
      ),
    received: () => buf,
    destroy: () => {
      weClosed = true;
      socket.destroy();
    },
  };
}

/**
 * Writes `bytes` on a fresh connection and collects the answer: resolves once `responses` final
 * responses are complete or the server closes the connection, whichever comes first.
 */
export async function sendRaw(
  url: string,
  bytes: string | Buffer | readonly (string | Buffer)[],
  options: SendRawOptions = {},
): Promise<RawExchange> {
  const want = options.responses ?? 1;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const conn = await openRaw(url, { head: options.head ?? false });
  const pieces = typeof bytes === 'string' || Buffer.isBuffer(bytes) ? [bytes] : bytes;
  try {
    for (const piece of pieces) {
      if (conn.socket.destroyed) break;
      await conn.write(piece).catch(() => {
        // The server may close while we write (it refused early); what it sent still counts.
      });
    }
    if (options.endAfterWrite === true && !conn.socket.destroyed) conn.socket.end();
    const responses: RawResponse[] = [];
    const deadline = Date.now() + timeoutMs;
    while (responses.length < want) {
      try {
        responses.push(await conn.nextResponse(Math.max(1, deadline - Date.now())));
      } catch (error) {
        if (conn.closedByServer) break;
        throw error;
      }
    }
    return {
      responses,
      interim: conn.interim,
      closedByServer: conn.closedByServer,
      raw: conn.received(),
    };
  } finally {
    conn.destroy();
  }
}

/** The one response of an exchange; throws with what was received if there is not exactly one. */
export function only(exchange: RawExchange): RawResponse {
  const [first, ...rest] = exchange.responses;
  if (first === undefined || rest.length > 0) {
    throw new Error(
      `expected exactly one response, got ${exchange.responses.length}; received:\n${exchange.raw.toString('latin1')}`,
    );
  }
  return first;
}

/** `METHOD target HTTP/1.1` with CRLF line endings and the given header lines, then `body`. */
export function rawRequest(
  method: string,
  target: string,
  headers: readonly string[],
  body: string | Buffer = '',
): Buffer {
  const head = `${method} ${target} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
  return Buffer.concat([
    Buffer.from(head, 'latin1'),
    typeof body === 'string' ? Buffer.from(body, 'latin1') : body,
  ]);
}
