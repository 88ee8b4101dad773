import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bigBody,
  type RecordedRequest,
  sha256,
  startTestUpstream,
  type TestUpstream,
} from '../../test/helpers/upstream.js';
import { answerFor } from '../gateway/refusal.js';
import { rawRequestOf } from '../gateway/server.js';
import {
  hasBody,
  type RequestFacts,
  type RequestReaderOptions,
  readRequest,
  type ShapeRefusal,
} from '../request/facts.js';
import { DEFAULT_MAX_TARGET_LENGTH } from '../request/target.js';
import { TrustedProxies } from '../request/trusted-proxies.js';
import { InvalidUpstreamOptionsError } from './errors.js';
import { type ForwardOutcome, Upstream, type UpstreamIdentity, type UpstreamOptions } from './upstream.js';

const EXPIRY = '2030-01-02T03:04:05Z';
const MiB = 1024 * 1024;
const ALICE: UpstreamIdentity = { user: 'alice', tokenId: 'tok_1' };
const READER: RequestReaderOptions = {
  maxTargetLength: DEFAULT_MAX_TARGET_LENGTH,
  maxHeaderCount: 100,
  trustedProxies: new TrustedProxies([]),
  allowUnderscores: false,
};

/** The facts the gateway would read from `req` (see `gateway/server.ts`). */
function readFacts(req: IncomingMessage): RequestFacts | ShapeRefusal {
  return readRequest(rawRequestOf(req, false), READER);
}

/** A stand-in for the gateway: forwards everything, answers 502/504 itself when nothing was sent. */
interface Front {
  url: string;
  outcome(id: string): Promise<ForwardOutcome>;
  /** Largest amount of response data the front ever held in memory for one client. */
  maxBuffered: number;
  close(): Promise<void>;
}

async function startFront(upstream: Upstream): Promise<Front> {
  const waiters = new Map<string, (outcome: ForwardOutcome) => void>();
  const results = new Map<string, Promise<ForwardOutcome>>();
  const slot = (id: string): Promise<ForwardOutcome> => {
    let result = results.get(id);
    if (result === undefined) {
      result = new Promise((resolve) => waiters.set(id, resolve));
      results.set(id, result);
    }
    return result;
  };

  const server = createServer((req, res) => {
    meter(res, front);
    const id = String(req.headers['x-test-id'] ?? '');
    slot(id);
    const facts = readFacts(req);
    if (facts.kind === 'shape') {
      const { problem } = answerFor(facts);
      res.writeHead(problem.status, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify(problem));
      return;
    }
    // The request itself is the body stream, as the gateway forwards one it does not buffer.
    const body = hasBody(facts) ? req : null;
    upstream.forward(
      res,
      {
        facts,
        path: facts.path,
        identity: ALICE,
        requestId: 'req-1',
        body,
        responseHeaders: ['x-patgate-token-expiration', EXPIRY],
      },
      (outcome) => {
        if (outcome.kind === 'upstream_error' && !outcome.afterHeaders) {
          const { problem } = answerFor({ kind: 'upstream_failed', error: outcome.error });
          res.writeHead(problem.status, { 'content-type': 'application/problem+json' });
          res.end(JSON.stringify(problem));
        }
        waiters.get(id)?.(outcome);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const front: Front = {
    url: `http://127.0.0.1:${port}`,
    outcome: slot,
    maxBuffered: 0,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return front;
}

/** Records the response's peak write buffer: it stays small only if backpressure is honoured. */
function meter(res: ServerResponse, front: { maxBuffered: number }): void {
  const write = res.write;
  res.write = function meteredWrite(this: ServerResponse, ...args: unknown[]): boolean {
    const ok = Reflect.apply(write, this, args) as boolean;
    front.maxBuffered = Math.max(front.maxBuffered, this.writableLength);
    return ok;
  } as typeof res.write;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls until the upstream has stopped making progress: what a saturated pipe looks like. */
async function waitUntilStalled(record: RecordedRequest): Promise<void> {
  let last = -1;
  let unchanged = 0;
  for (let i = 0; i < 200 && unchanged < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    unchanged = record.bytesSent === last ? unchanged + 1 : 0;
    last = record.bytesSent;
  }
}

function headerValues(raw: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) values.push(raw[i + 1] as string);
  }
  return values;
}

const options = (url: string, overrides: Partial<UpstreamOptions> = {}): UpstreamOptions => ({
  url,
  timeoutMs: 5_000,
  connectTimeoutMs: 1_000,
  connections: 8,
  ...overrides,
});

let testUpstream: TestUpstream;
let upstream: Upstream;
let front: Front;
const client = new Agent();
let nextId = 0;
const newId = (): string => `req-${++nextId}`;

beforeAll(async () => {
  testUpstream = await startTestUpstream();
  upstream = new Upstream(options(testUpstream.url));
  front = await startFront(upstream);
});

afterAll(async () => {
  await client.close();
  await front.close();
  await testUpstream.close();
  await upstream.close();
});

/** The upstream record for the request the front tagged with `id`. */
function recordFor(id: string): RecordedRequest {
  const record = testUpstream.requests.find((r) => headerValues(r.rawHeaders, 'x-test-id')[0] === id);
  if (record === undefined) throw new Error(`upstream never saw ${id}`);
  return record;
}

async function waitForRecord(id: string): Promise<RecordedRequest> {
  for (let n = 1; ; n++) {
    const seen = await testUpstream.waitForRequests(n);
    const record = seen.find((r) => headerValues(r.rawHeaders, 'x-test-id')[0] === id);
    if (record !== undefined) return record;
  }
}

describe('Upstream options', () => {
  it.each<[string, Partial<UpstreamOptions> & { url?: string }]>([
    ['not a URL', { url: 'nope' }],
    ['a non-HTTP scheme', { url: 'ftp://127.0.0.1:21' }],
    ['a path prefix with a trailing "/"', { url: 'http://127.0.0.1:9000/api/' }],
    ['a path prefix with an empty segment', { url: 'http://127.0.0.1:9000/api//v3' }],
    ['a query', { url: 'http://127.0.0.1:9000/?a=1' }],
    ['credentials', { url: 'http://u:p@127.0.0.1:9000' }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a fractional connect timeout', { connectTimeoutMs: 1.5 }],
    ['no connections', { connections: 0 }],
    ['NaN connections', { connections: Number.NaN }],
  ])('rejects %s at construction', (_label, bad) => {
    expect(() => new Upstream(options(bad.url ?? 'http://127.0.0.1:9000', bad))).toThrow(
      InvalidUpstreamOptionsError,
    );
  });
});

describe('Upstream.forward: bodies', () => {
  it('passes a 2 MiB upload intact and streams it back', async () => {
    const id = newId();
    const body = randomBytes(2 * MiB);
    const res = await request(`${front.url}/echo`, {
      dispatcher: client,
      method: 'POST',
      headers: { 'x-test-id': id, 'content-type': 'application/octet-stream' },
      body,
    });
    const echoed = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(sha256(echoed)).toBe(sha256(body));
    const record = recordFor(id);
    expect(record.bodyLength).toBe(body.length);
    expect(record.bodySha256).toBe(sha256(body));
    expect(headerValues(record.rawHeaders, 'content-length')).toEqual([String(body.length)]);
    expect(await front.outcome(id)).toEqual({ kind: 'ok', status: 200, bytes: body.length });
  });

  it('passes a chunked upload (no Content-Length) intact', async () => {
    const id = newId();
    const chunks = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
    const res = await request(`${front.url}/echo`, {
      dispatcher: client,
      method: 'PUT',
      headers: { 'x-test-id': id },
      body: Readable.from(chunks),
    });
    const echoed = Buffer.from(await res.body.arrayBuffer());
    expect(sha256(echoed)).toBe(sha256(Buffer.concat(chunks)));
    expect(recordFor(id).bodySha256).toBe(sha256(Buffer.concat(chunks)));
  });

  it('streams a 5 MB download: the client gets bytes while the upstream is still mid-body', async () => {
    const id = newId();
    const total = 5_000_000;
    const hold = MiB;
    const res = await request(`${front.url}/big/${total}?hold=${hold}`, {
      dispatcher: client,
      headers: { 'x-test-id': id },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(total));

    const received: Buffer[] = [];
    let length = 0;
    const iterator = res.body[Symbol.asyncIterator]();
    while (length < hold) {
      const { value, done } = await iterator.next();
      if (done === true) break;
      received.push(value as Buffer);
      length += (value as Buffer).length;
    }
    // The upstream is parked after `hold` bytes, so these can only have come through a stream.
    const record = recordFor(id);
    expect(length).toBe(hold);
    expect(record.bytesSent).toBe(hold);
    expect(record.outcome).toBe('open');

    testUpstream.release();
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      received.push(next.value as Buffer);
    }
    expect(sha256(Buffer.concat(received))).toBe(sha256(bigBody(total)));
    expect(await front.outcome(id)).toEqual({ kind: 'ok', status: 200, bytes: total });
  });

  it('honours client backpressure: a client that does not read stalls the upstream, not the heap', async () => {
    const id = newId();
    const total = 64 * MiB;
    front.maxBuffered = 0;
    const res = await request(`${front.url}/big/${total}`, {
      dispatcher: client,
      headers: { 'x-test-id': id },
    });
    const record = recordFor(id);
    await waitUntilStalled(record);
    // Without backpressure the front would have pulled all 64 MiB from the upstream into memory.
    expect(record.bytesSent).toBeLessThan(total);
    expect(front.maxBuffered).toBeLessThan(MiB);

    const body = Buffer.from(await res.body.arrayBuffer());
    expect(sha256(body)).toBe(sha256(bigBody(total)));
    expect(front.maxBuffered).toBeLessThan(MiB);
  });

  it('sends no body for HEAD but keeps the upstream framing headers', async () => {
    const id = newId();
    const res = await request(`${front.url}/big/1000`, {
      dispatcher: client,
      method: 'HEAD',
      headers: { 'x-test-id': id },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('1000');
    expect(await res.body.text()).toBe('');
    expect(recordFor(id).method).toBe('HEAD');
    expect(await front.outcome(id)).toEqual({ kind: 'ok', status: 200, bytes: 0 });
  });
});

describe('Upstream.forward: what the upstream and the client see', () => {
  it.each(['/a%20b/c?x=1&y=%2F', '/repos/acme/api/contents/dir/caf%C3%A9.md?ref=main&q=%25&q=2;x', '/x?'])(
    'forwards %s byte-for-byte',
    async (path) => {
      const id = newId();
      // Agent.request sends `path` as given; a URL string would be normalised first (`/x?` → `/x`).
      const res = await client.request({
        origin: front.url,
        path,
        method: 'GET',
        headers: { 'x-test-id': id },
      });
      await res.body.dump();
      expect(recordFor(id).url).toBe(path);
    },
  );

  it('replaces identity and provenance headers, sends the upstream its own Host, and drops the token', async () => {
    const id = newId();
    const res = await request(`${front.url}/anything`, {
      dispatcher: client,
      headers: {
        'x-test-id': id,
        authorization: 'Bearer pgt_secret',
        'x-patgate-user': 'mallory',
        'x-forwarded-for': '198.51.100.1',
        'x-forwarded-host': 'evil.example',
      },
    });
    await res.body.dump();
    const raw = recordFor(id).rawHeaders;
    expect(headerValues(raw, 'authorization')).toEqual([]);
    expect(headerValues(raw, 'x-patgate-user')).toEqual(['alice']);
    expect(headerValues(raw, 'x-patgate-token-id')).toEqual(['tok_1']);
    expect(headerValues(raw, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(headerValues(raw, 'x-forwarded-proto')).toEqual(['http']);
    // undici writes the upstream's own authority; the client's Host travels as X-Forwarded-Host.
    expect(headerValues(raw, 'host')).toEqual([new URL(testUpstream.url).host]);
    expect(headerValues(raw, 'x-forwarded-host')).toEqual([new URL(front.url).host]);
    expect(raw.join('\n')).not.toContain('pgt_secret');
  });

  it('relays every set-cookie, drops Connection-named headers, and adds the token expiration once', async () => {
    const res = await request(`${front.url}/response-headers`, { dispatcher: client });
    expect(await res.body.text()).toBe('ok');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['x-internal']).toBeUndefined();
    expect(res.headers['x-patgate-token-expiration']).toBe(EXPIRY);
  });
});

describe('Upstream.forward: failures', () => {
  it('reports a refused upstream without writing, for the gateway to answer 502', async () => {
    const refusing = new Upstream(options(`http://127.0.0.1:${await closedPort()}`));
    const refusingFront = await startFront(refusing);
    try {
      const id = newId();
      const res = await request(`${refusingFront.url}/x`, {
        dispatcher: client,
        headers: { 'x-test-id': id },
      });
      expect(res.statusCode).toBe(502);
      expect(res.headers['content-type']).toBe('application/problem+json');
      await res.body.dump();
      expect(await refusingFront.outcome(id)).toMatchObject({
        kind: 'upstream_error',
        error: 'refused',
        afterHeaders: false,
      });
    } finally {
      await refusingFront.close();
      await refusing.close();
    }
  });

  it('reports a slow upstream as a timeout (504) and gives up on its request', async () => {
    const impatient = new Upstream(options(testUpstream.url, { timeoutMs: 200 }));
    const impatientFront = await startFront(impatient);
    try {
      const id = newId();
      const res = await request(`${impatientFront.url}/slow/10000`, {
        dispatcher: client,
        headers: { 'x-test-id': id },
      });
      expect(res.statusCode).toBe(504);
      await res.body.dump();
      expect(await impatientFront.outcome(id)).toMatchObject({
        kind: 'upstream_error',
        error: 'timeout',
        afterHeaders: false,
      });
      expect((await recordFor(id).settled).outcome).toBe('aborted');
    } finally {
      await impatientFront.close();
      await impatient.close();
    }
  });

  it('cuts the client connection when the upstream resets mid-body', async () => {
    const id = newId();
    const res = await request(`${front.url}/reset`, { dispatcher: client, headers: { 'x-test-id': id } });
    expect(res.statusCode).toBe(200);
    await expect(res.body.arrayBuffer()).rejects.toThrow();
    expect(await front.outcome(id)).toMatchObject({
      kind: 'upstream_error',
      error: 'reset',
      afterHeaders: true,
    });
  });

  it('aborts the upstream request when the client leaves before the response headers', async () => {
    const id = newId();
    const abort = new AbortController();
    const pending = request(`${front.url}/slow/10000`, {
      dispatcher: client,
      headers: { 'x-test-id': id },
      signal: abort.signal,
    });
    const record = await waitForRecord(id);
    abort.abort();
    await expect(pending).rejects.toThrow();
    expect(await front.outcome(id)).toEqual({ kind: 'client_aborted' });
    expect((await record.settled).outcome).toBe('aborted');
  });

  it('aborts the upstream request when the client leaves mid-download', async () => {
    const id = newId();
    const abort = new AbortController();
    const res = await request(`${front.url}/big/5000000?hold=${MiB}`, {
      dispatcher: client,
      headers: { 'x-test-id': id },
      signal: abort.signal,
    });
    for await (const _chunk of res.body) break;
    abort.abort();
    expect(await front.outcome(id)).toEqual({ kind: 'client_aborted' });
    expect((await recordFor(id).settled).outcome).toBe('aborted');
  });

  it('aborts the upstream request when the client leaves mid-upload', async () => {
    const id = newId();
    const abort = new AbortController();
    const body = new Readable({ read() {} });
    body.push(randomBytes(256 * 1024));
    // Not /echo: this route answers only after the whole body, so the client is still uploading.
    const pending = request(`${front.url}/sink`, {
      dispatcher: client,
      method: 'POST',
      headers: { 'x-test-id': id },
      body,
      signal: abort.signal,
    });
    const record = await waitForRecord(id);
    abort.abort();
    await expect(pending).rejects.toThrow();
    expect(await front.outcome(id)).toEqual({ kind: 'client_aborted' });
    expect((await record.settled).outcome).toBe('aborted');
  });
});
