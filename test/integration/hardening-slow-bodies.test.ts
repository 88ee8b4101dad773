import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttackStack, startAttackStack } from '../helpers/attack-stack.js';
import { addressOf, parseResponse } from '../helpers/raw-socket.js';

// Class: slow bodies starving the upstream pool. A client trickling a request body held an
// upstream connection for as long as it liked; 3x the pool of them locked every other client out.

interface Trickler {
  readonly socket: Socket;
  /** Resolves with the answer's status once the server has answered and closed. */
  readonly answered: Promise<number>;
}

/** A POST whose body arrives one byte at a time, `everyMs` apart, until the server answers. */
function trickle(
  url: string,
  path: string,
  declared: number,
  everyMs: number,
  localAddress = '127.0.0.1',
  head = '',
): Trickler {
  const { host, port } = addressOf(url);
  const socket = connect({ host, port, localAddress });
  let received = Buffer.alloc(0);
  const timer = setInterval(() => socket.write('a'), everyMs);
  const answered = new Promise<number>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      const parsed = parseResponse(received, 0, true);
      if (parsed !== null) resolve(parsed.response.status);
      else reject(new Error(`no answer: ${received.toString('latin1')}`));
    });
  });
  // Sockets the test itself destroys never get an answer: only awaited ones must have one.
  answered.catch(() => {});
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Length: ${declared}\r\n\r\na${head}`,
  );
  return { socket, answered };
}

async function gauge(stack: AttackStack, name: string): Promise<number> {
  const res = await request(`${stack.gateway.adminUrl}/metrics`);
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

/** Polls a gauge until `holds` says so: each poll is one scrape, no timer. */
async function gaugeReaches(
  stack: AttackStack,
  name: string,
  holds: (value: number) => boolean,
): Promise<void> {
  while (!holds(await gauge(stack, name)));
}

async function timedGet(stack: AttackStack): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await request(`${stack.url}/repos/acme/api/issues`, {
    headers: { authorization: `Bearer ${stack.token.token}` },
  });
  await res.body.dump();
  return { status: res.statusCode, ms: performance.now() - started };
}

const POOL = 10;

describe('slow bodies must not starve the upstream pool', () => {
  let stack: AttackStack;

  beforeAll(async () => {
    stack = await startAttackStack({
      upstream: [`connections: ${POOL}`],
      limits: ['body_rate_grace_ms: 1500', 'min_body_bytes_per_second: 64'],
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('3x the pool trickling bodies leaves 20 concurrent valid requests answering in < 1 s', async () => {
    const attackers = Array.from({ length: 3 * POOL }, () => trickle(stack.url, '/inbox/x', 1000, 500));
    try {
      // Every attacker's first byte is held by the gateway (memory is taken as bytes arrive),
      // none by the upstream.
      await gaugeReaches(stack, 'patgate_body_buffer_bytes', (v) => v >= 3 * POOL);
      const answers = await Promise.all(Array.from({ length: 20 }, () => timedGet(stack)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(1000);
      // Slower than the minimum rate after the grace period: 408, and the memory comes back.
      const statuses = await Promise.all(attackers.map((a) => a.answered));
      expect(statuses).toEqual(Array(3 * POOL).fill(408));
      expect(stack.upstream.requests.filter((r) => r.url.startsWith('/inbox'))).toEqual([]);
      await gaugeReaches(stack, 'patgate_body_buffer_bytes', (v) => v === 0);
    } finally {
      for (const a of attackers) a.socket.destroy();
    }
  });
});

describe('one client holds at most its share of the upstream, and bodies at most the budget', () => {
  let stack: AttackStack;

  beforeAll(async () => {
    stack = await startAttackStack({
      limits: [
        'body_buffer_bytes: 1000',
        'body_buffer_total_bytes: 1500',
        'max_upstream_requests_per_client: 2',
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('a third streamed upload from one address gets 429; another address still gets through', async () => {
    // Declared past the buffer: these stream, holding an upstream request each.
    const held = [trickle(stack.url, '/inbox/a', 5000, 200), trickle(stack.url, '/inbox/b', 5000, 200)];
    try {
      await stack.upstream.waitForRequests(2);
      const third = trickle(stack.url, '/inbox/c', 5000, 200);
      expect(await third.answered).toBe(429);
      const other = trickle(stack.url, '/inbox/d', 5000, 200, '127.0.0.2');
      await stack.upstream.waitForRequests(3);
      expect(stack.upstream.requests.map((r) => r.url)).toEqual(['/inbox/a', '/inbox/b', '/inbox/d']);
      other.socket.destroy();
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  it('a body the budget cannot hold gets 503 with Retry-After, nothing forwarded', async () => {
    // 999 of 1000 declared bytes at once, then one every 200 ms: the budget holds 999.
    const first = trickle(stack.url, '/inbox/e', 1000, 200, '127.0.0.1', 'x'.repeat(998));
    try {
      await gaugeReaches(stack, 'patgate_body_buffer_bytes', (v) => v >= 999);
      const before = stack.upstream.requests.length;
      const res = await request(`${stack.url}/inbox/f`, { method: 'POST', body: 'x'.repeat(600) });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(((await res.body.json()) as { type: string }).type).toMatch(/\/body_buffer_full$/);
      expect(stack.upstream.requests.length).toBe(before);
    } finally {
      first.socket.destroy();
    }
  });
});
