import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttackStack,
  authLines,
  expectProblem,
  rawRequest,
  refusedRaw,
  startAttackStack,
} from '../helpers/attack-stack.js';
import { only, openRaw, sendRaw } from '../helpers/raw-socket.js';
import { eventually } from '../helpers/stack.js';

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 3000;

/**
 * Resource limits under attack: header size and count, target length, body size per route
 * (declared and streamed), slow and idle clients, and connections per client. Small limits
 * are configured so that each one is reached with a few kilobytes.
 */
describe('attack: limits', () => {
  let stack: AttackStack;

  beforeAll(async () => {
    stack = await startAttackStack({
      limits: [
        'max_header_bytes: 4096',
        'max_header_count: 20',
        'max_target_length: 1024',
        'max_body_bytes: 65536',
        `headers_timeout_ms: ${HEADERS_TIMEOUT_MS}`,
        `request_timeout_ms: ${REQUEST_TIMEOUT_MS}`,
        'idle_timeout_ms: 1000',
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** A POST to the route limited to 1024 bytes. */
  const upload = (lines: readonly string[], body: string | Buffer = ''): Buffer =>
    rawRequest('POST', '/upload/a', [...authLines(stack), ...lines], body);

  describe('header size and count', () => {
    it('one header past max_header_bytes: 431, nothing forwarded', async () => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/repos/acme/api/issues', [...authLines(stack), `X-Big: ${'a'.repeat(5000)}`]),
      );
      expectProblem(response, 431, 'header_fields_too_large');
    });

    it('many small headers past max_header_bytes together: 431', async () => {
      const filler = Array.from({ length: 15 }, (_, i) => `X-F${i}: ${'b'.repeat(300)}`);
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/repos/acme/api/issues', [...authLines(stack), ...filler]),
      );
      expectProblem(response, 431);
    });

    it('a request line past max_header_bytes: 431', async () => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', `/repos/acme/api/contents/${'c'.repeat(5000)}`, authLines(stack)),
      );
      expectProblem(response, 431);
    });

    it('max_header_count + 1 fields: 431, nothing forwarded; max_header_count: served', async () => {
      const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-N${i}: 1`);
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', '/repos/acme/api/issues', [...authLines(stack), ...fields(19)]),
      );
      expectProblem(response, 431, 'too_many_headers');
      const atLimit = only(
        await sendRaw(
          stack.url,
          rawRequest('GET', '/repos/acme/api/issues', [...authLines(stack), ...fields(18)]),
        ),
      );
      expect(atLimit.status).toBe(200);
    });
  });

  describe('target length', () => {
    it('past max_target_length: 414, nothing forwarded; at it: served', async () => {
      const prefix = '/repos/acme/api/contents/';
      const { response } = await refusedRaw(
        stack,
        rawRequest('GET', prefix + 'd'.repeat(1025 - prefix.length), authLines(stack)),
      );
      expectProblem(response, 414, 'target_too_long');
      const target = prefix + 'd'.repeat(1024 - prefix.length);
      const forwarded = await stack.forwardedDuring(async () => {
        expect(only(await sendRaw(stack.url, rawRequest('GET', target, authLines(stack)))).status).toBe(200);
      });
      expect(forwarded.map((r) => r.url)).toEqual([target]);
    });
  });

  describe('body size per route', () => {
    it('declared Content-Length past the route limit: 413 before anything is forwarded', async () => {
      const { response } = await refusedRaw(stack, upload(['Content-Length: 1025'], 'e'.repeat(1025)));
      expectProblem(response, 413, 'body_too_large');
      expect(response.header('connection')).toBe('close');
    });

    it('a body exactly at the route limit is forwarded whole', async () => {
      const forwarded = await stack.forwardedDuring(async () => {
        expect(
          only(await sendRaw(stack.url, upload(['Content-Length: 1024'], 'e'.repeat(1024)))).status,
        ).toBe(200);
      });
      expect(forwarded).toHaveLength(1);
      expect((await forwarded[0]?.settled)?.bodyLength).toBe(1024);
    });

    it('a chunked body growing past the route limit: 413, the upstream never gets more than the limit', async () => {
      const chunk = `1f4\r\n${'f'.repeat(500)}\r\n`;
      const forwarded = await stack.forwardedDuring(async () => {
        const exchange = await sendRaw(stack.url, [
          upload(['Transfer-Encoding: chunked']),
          chunk,
          chunk,
          chunk,
          chunk,
          '0\r\n\r\n',
        ]);
        expectProblem(only(exchange), 413, 'body_too_large');
      });
      for (const seen of forwarded) {
        const settled = await seen.settled;
        expect(settled.outcome).toBe('aborted');
        expect(settled.bodySha256).toBeNull();
        expect(settled.bodyLength).toBeLessThanOrEqual(1024);
      }
    });

    it('a chunked body within the limit is forwarded whole', async () => {
      const forwarded = await stack.forwardedDuring(async () => {
        const exchange = await sendRaw(
          stack.url,
          upload(['Transfer-Encoding: chunked'], `3e8\r\n${'g'.repeat(1000)}\r\n0\r\n\r\n`),
        );
        expect(only(exchange).status).toBe(200);
      });
      expect((await forwarded[0]?.settled)?.bodyLength).toBe(1000);
    });

    it('max_body_bytes: 0 refuses any body, and serves an empty one', async () => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('POST', '/nobody', [...authLines(stack), 'Content-Length: 1'], 'x'),
      );
      expectProblem(response, 413);
      const empty = only(
        await sendRaw(stack.url, rawRequest('POST', '/nobody', [...authLines(stack), 'Content-Length: 0'])),
      );
      expect(empty.status).toBe(200);
    });

    it('routes without their own limit use limits.max_body_bytes', async () => {
      const { response } = await refusedRaw(
        stack,
        rawRequest('POST', '/repos/acme/api/issues', [...authLines(stack), 'Content-Length: 65537']),
      );
      expectProblem(response, 413);
    });

    it('Expect: 100-continue with a body too large: 413 and no invitation to send it', async () => {
      const conn = await openRaw(stack.url);
      try {
        await conn.write(upload(['Expect: 100-continue', 'Content-Length: 5000']));
        const response = await conn.nextResponse();
        expectProblem(response, 413);
        expect(conn.interim).toEqual([]);
      } finally {
        conn.destroy();
      }
    });
  });

  describe('slow and idle clients', () => {
    it('slowloris: headers dripped one line at a time get 408 and the connection closed', async () => {
      const conn = await openRaw(stack.url);
      const started = Date.now();
      let n = 0;
      const forwarded = await stack.forwardedDuring(async () => {
        await conn.write(`GET /repos/acme/api/issues HTTP/1.1\r\nHost: ${stack.host}\r\n`);
        const drip = setInterval(() => {
          if (!conn.socket.destroyed) conn.socket.write(`X-Drip-${n++}: 1\r\n`);
        }, 100);
        try {
          const response = await conn.nextResponse(HEADERS_TIMEOUT_MS * 10);
          expectProblem(response, 408, 'request_timeout');
        } finally {
          clearInterval(drip);
        }
        await conn.closed;
      });
      expect(forwarded).toEqual([]);
      expect(conn.closedByServer).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS * 0.9);
    });

    it('a connection that sends nothing gets 408 and is closed', async () => {
      const conn = await openRaw(stack.url);
      try {
        const response = await conn.nextResponse(HEADERS_TIMEOUT_MS * 10);
        expectProblem(response, 408);
        await conn.closed;
        expect(conn.closedByServer).toBe(true);
      } finally {
        conn.destroy();
      }
    });

    it('a body that stops arriving: 408 past request_timeout_ms; the upstream request is aborted', async () => {
      const conn = await openRaw(stack.url);
      const forwarded = await stack.forwardedDuring(async () => {
        await conn.write(upload(['Content-Length: 100'], 'h'.repeat(10)));
        const response = await conn.nextResponse(REQUEST_TIMEOUT_MS * 5);
        expectProblem(response, 408);
        await conn.closed;
      });
      for (const seen of forwarded) {
        const settled = await seen.settled;
        expect(settled.outcome).toBe('aborted');
        expect(settled.bodySha256).toBeNull();
      }
    });

    it('an idle keep-alive connection is closed after idle_timeout_ms', async () => {
      const conn = await openRaw(stack.url);
      try {
        await conn.write(rawRequest('GET', '/status', [`Host: ${stack.host}`]));
        expect((await conn.nextResponse()).status).toBe(200);
        await conn.closed;
        expect(conn.closedByServer).toBe(true);
      } finally {
        conn.destroy();
      }
    });
  });

  describe('connections per client', () => {
    it('past max_connections_per_client: 429 on the next connection, closed, nothing forwarded', async () => {
      const limited = await startAttackStack({ limits: ['max_connections_per_client: 3'] });
      const held: Awaited<ReturnType<typeof openRaw>>[] = [];
      try {
        for (let i = 1; i <= 3; i++) {
          const conn = await openRaw(limited.url);
          held.push(conn);
          await conn.write(rawRequest('GET', `/status?conn=${i}`, [`Host: ${limited.host}`]));
          expect((await conn.nextResponse()).status).toBe(200);
        }
        const before = limited.upstream.requests.length;
        const exchange = await sendRaw(
          limited.url,
          rawRequest('GET', '/status?conn=4', [`Host: ${limited.host}`]),
        );
        const refused = only(exchange);
        expectProblem(refused, 429, 'too_many_connections');
        expect(refused.header('retry-after')).toBe('1');
        expect(refused.header('connection')).toBe('close');

        // A connection closing frees its slot (the server learns of it asynchronously).
        held.shift()?.destroy();
        await eventually(
          async () =>
            only(await sendRaw(limited.url, rawRequest('GET', '/status?conn=5', [`Host: ${limited.host}`])))
              .status === 200,
          5000,
          'a freed connection slot',
        );
        expect(limited.upstream.requests.slice(before).map((r) => r.url)).not.toContain('/status?conn=4');
      } finally {
        for (const conn of held) conn.destroy();
        await limited.close();
      }
    });
  });
});
