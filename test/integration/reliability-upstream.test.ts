import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, eventually, type Stack, startStack } from '../helpers/stack.js';
import { bigBody, sha256 } from '../helpers/upstream.js';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ store: 'memory', timeoutMs: 10_000 });
  const created = await createToken(stack.gateway.adminUrl, {
    user: 'alice',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { contents: 'read' },
  });
  token = created.token;
});

afterAll(async () => {
  await stack?.close();
});

/** A GET on its own connection; resolves with the response, unread. */
function open(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${stack.gateway.url}${path}`, {
      agent: false,
      headers: { authorization: `Bearer ${token}` },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Reads a response to its end or its cut. */
function drain(res: IncomingMessage): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve({ body: Buffer.concat(chunks), complete: res.complete }));
    res.on('error', () => resolve({ body: Buffer.concat(chunks), complete: false }));
    res.on('aborted', () => resolve({ body: Buffer.concat(chunks), complete: false }));
  });
}

describe('upstream faults, end to end through the gateway process', () => {
  it('an upstream reset mid-body reaches the client as a cut response, not a hang', async () => {
    const started = performance.now();
    const res = await open('/reset');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('100000');
    const { body, complete } = await drain(res);
    expect(complete).toBe(false);
    expect(body.length).toBeLessThan(100_000);
    // Far below upstream.timeout_ms (10 s): the cut is passed on, not waited out.
    expect(performance.now() - started).toBeLessThan(5000);
    await stack.gateway.waitForLine(
      (l) => l.includes('upstream request failed') && l.includes('"after_headers":true'),
    );
  });

  it('a client that stops reading stalls the upstream instead of filling the gateway (backpressure)', async () => {
    const size = 64 * 1024 * 1024;
    const before = stack.upstream.requests.length;
    const res = await open(`/big/${size}`);
    expect(res.statusCode).toBe(200);
    res.pause();
    const [recorded] = (await stack.upstream.waitForRequests(before + 1)).slice(before);
    if (recorded === undefined) throw new Error('the upstream saw no request');
    const rssBefore = rssOf(stack.gateway.child.pid);

    // Wait until the upstream can no longer write: every buffer on the way is full.
    let last = -1;
    let unchanged = 0;
    await eventually(
      async () => {
        unchanged = recorded.bytesSent === last ? unchanged + 1 : 0;
        last = recorded.bytesSent;
        return unchanged >= 20;
      },
      15_000,
      'the upstream to stall behind the paused client',
    );
    const stalledAt = recorded.bytesSent;
    const rssStalled = rssOf(stack.gateway.child.pid);
    console.log(
      `slow client: upstream stalled at ${(stalledAt / 2 ** 20).toFixed(1)} MiB of ${size / 2 ** 20} MiB; gateway RSS ${mib(rssBefore)} -> ${mib(rssStalled)} MiB`,
    );
    // Socket buffers on three hops hold a few MiB; a gateway buffering the body would hold it all.
    expect(stalledAt).toBeLessThan(size / 2);
    expect(rssStalled - rssBefore).toBeLessThan(size / 2);

    res.resume();
    const { body, complete } = await drain(res);
    expect(complete).toBe(true);
    expect(sha256(body)).toBe(sha256(bigBody(size)));
  }, 60_000);
});

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  // Linux only, like the rest of the fault tests (SIGSTOP, /proc).
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
