import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttackStack,
  expectProblem,
  headerValues,
  rawRequest,
  refusedRaw,
  startAttackStack,
} from '../helpers/attack-stack.js';
import { only, openRaw, sendRaw } from '../helpers/raw-socket.js';

/**
 * Request smuggling: every framing two HTTP/1.1 parsers could disagree on is refused before any
 * upstream connection is used, and what is forwarded is re-framed by undici (the bytes of the
 * body, never the client's framing), so a request hidden in a body stays a body.
 */
describe('attack: message framing', () => {
  let stack: AttackStack;
  let auth: string;
  let host: string;

  beforeAll(async () => {
    stack = await startAttackStack();
    auth = `Authorization: Bearer ${stack.token.token}`;
    host = `Host: ${stack.host}`;
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** A second request an attacker hopes the upstream will read from the first one's body. */
  const smuggled = () => `GET /repos/acme/web/contents/secret HTTP/1.1\r\n${host}\r\n\r\n`;

  describe('refused before anything is forwarded (400, connection closed)', () => {
    const cases: [string, () => string][] = [
      [
        'CL.TE: Content-Length and Transfer-Encoding',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled()}`,
      ],
      [
        'TE.CL: Transfer-Encoding first',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
      ],
      [
        'duplicate Content-Length, same value',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd`,
      ],
      [
        'duplicate Content-Length, different values',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd${smuggled()}`,
      ],
      [
        'Content-Length list',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: 4, 4\r\n\r\nabcd`,
      ],
      [
        'signed Content-Length',
        () => `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: +4\r\n\r\nabcd`,
      ],
      [
        'negative Content-Length',
        () => `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: -1\r\n\r\n`,
      ],
      [
        'hex Content-Length',
        () => `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: 0x4\r\n\r\nabcd`,
      ],
      [
        'Content-Length with inner space',
        () => `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: 1 0\r\n\r\n`,
      ],
      [
        'Transfer-Encoding: chunked, identity',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
      ],
      [
        'Transfer-Encoding : chunked (space before the colon)',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
      ],
      [
        'Transfer-Encoding folded onto the next line (obs-fold)',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
      ],
      [
        'Transfer-Encoding twice',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      ],
      [
        'Transfer-Encoding in an HTTP/1.0 request',
        () =>
          `POST /repos/acme/api/issues HTTP/1.0\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`,
      ],
      ['bare LF line endings', () => `GET /status HTTP/1.1\n${host}\n\n`],
      ['bare LF after one header', () => `GET /status HTTP/1.1\r\n${host}\nX-Injected: 1\r\n\r\n`],
      ['bare CR inside the headers', () => `GET /status HTTP/1.1\r\n${host}\rX-Injected: 1\r\n\r\n`],
      ['NUL in a header value', () => `GET /status HTTP/1.1\r\n${host}\r\nX-A: a\0b\r\n\r\n`],
      ['space inside a header name', () => `GET /status HTTP/1.1\r\n${host}\r\nX A: 1\r\n\r\n`],
      ['header line without a colon', () => `GET /status HTTP/1.1\r\n${host}\r\nX-A 1\r\n\r\n`],
    ];

    it.each(cases)('%s', async (_label, bytes) => {
      const { response } = await refusedRaw(stack, bytes());
      expectProblem(response, 400);
      expect(response.header('connection')).toBe('close');
    });

    it.each([
      ['Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: gzip, chunked'],
      ['Transfer-Encoding: identity', 'Transfer-Encoding: identity'],
      ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked'],
    ])('%s: 501 (a coding the gateway cannot vouch for)', async (_label, line) => {
      const { response } = await refusedRaw(
        stack,
        `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\n${line}\r\n\r\n0\r\n\r\n`,
      );
      expect([400, 501]).toContain(response.status);
      expect(response.header('content-type')).toBe('application/problem+json');
    });

    // The headers are valid, so the request was authorized and its body is streaming when the
    // bad chunk arrives: the client gets its 400, the upstream an aborted request, never a
    // complete one, and never the bytes after the bad chunk as a request of their own.
    const badChunks: [string, () => string][] = [
      [
        'chunk size overflow',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nabcd\r\n0\r\n\r\n`,
      ],
      [
        'chunk extension ended by a bare LF',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked\r\n\r\n4;x\nabcd\r\n0\r\n\r\n`,
      ],
      [
        'chunk data not followed by CRLF',
        () =>
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdX\r\n0\r\n\r\n`,
      ],
    ];

    it.each(badChunks)('%s: 400, the upstream never gets a complete request', async (_label, bytes) => {
      const forwarded = await stack.forwardedDuring(async () => {
        const exchange = await sendRaw(stack.url, bytes() + smuggled());
        expectProblem(only(exchange), 400);
      });
      expect(forwarded.map((r) => r.url)).not.toContain('/repos/acme/web/contents/secret');
      for (const seen of forwarded) expect((await seen.settled).bodySha256).toBeNull();
    });

    it('a refused request ends the connection: a request pipelined after it is never read', async () => {
      const forwarded = await stack.forwardedDuring(async () => {
        const exchange = await sendRaw(
          stack.url,
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd${smuggled()}`,
          { responses: 2 },
        );
        expect(exchange.responses.map((r) => r.status)).toEqual([400]);
        expect(exchange.closedByServer).toBe(true);
      });
      expect(forwarded).toEqual([]);
    });
  });

  describe('what is forwarded is exactly what was authorized', () => {
    it('a chunked body that looks like a request reaches the upstream as body bytes, re-framed', async () => {
      const payload = `0\r\n\r\n${smuggled()}`;
      const chunked = `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`;
      const forwarded = await stack.forwardedDuring(async () => {
        const response = only(
          await sendRaw(
            stack.url,
            `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`,
          ),
        );
        expect(response.status).toBe(200);
      });
      expect(forwarded.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /repos/acme/api/issues']);
      const seen = await forwarded[0]?.settled;
      expect(seen?.bodyLength).toBe(payload.length);
      expect(seen?.bodySha256).toBe(createHash('sha256').update(payload).digest('hex'));
    });

    it.each([
      ['Transfer-Encoding:\\tchunked (tab is OWS)', 'Transfer-Encoding:\tchunked'],
      ['Transfer-Encoding: CHUNKED (codings are case-insensitive)', 'Transfer-Encoding: CHUNKED'],
    ])('%s: accepted, forwarded with exactly the body', async (_label, line) => {
      const forwarded = await stack.forwardedDuring(async () => {
        const response = only(
          await sendRaw(
            stack.url,
            `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\n${line}\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`,
          ),
        );
        expect(response.status).toBe(200);
      });
      expect(forwarded).toHaveLength(1);
      const seen = await forwarded[0]?.settled;
      expect(seen?.bodyLength).toBe(4);
    });

    it('the upstream gets one framing: never Content-Length and Transfer-Encoding together', async () => {
      const forwarded = await stack.forwardedDuring(async () => {
        for (const framing of [
          'Content-Length: 4\r\n\r\nabcd',
          'Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n',
        ]) {
          const response = only(
            await sendRaw(
              stack.url,
              `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\n${framing}`,
            ),
          );
          expect(response.status).toBe(200);
        }
      });
      expect(forwarded).toHaveLength(2);
      for (const seen of forwarded) {
        const length = headerValues(seen, 'content-length');
        const coding = headerValues(seen, 'transfer-encoding');
        expect(length.length + coding.length, JSON.stringify(seen.rawHeaders)).toBe(1);
        expect((await seen.settled).bodyLength).toBe(4);
      }
    });

    it('pipelined requests are answered in order; only the authorized ones are forwarded', async () => {
      const allowed = rawRequest('GET', '/repos/acme/api/issues?n=1', [host, auth]);
      const hidden = rawRequest('GET', '/repos/acme/web/issues?n=2', [
        host,
        `Authorization: Bearer ${stack.reader.token}`,
      ]);
      const allowedAgain = rawRequest('GET', '/repos/acme/api/issues?n=3', [host, auth]);
      const forwarded = await stack.forwardedDuring(async () => {
        const exchange = await sendRaw(stack.url, Buffer.concat([allowed, hidden, allowedAgain]), {
          responses: 3,
        });
        expect(exchange.responses.map((r) => r.status)).toEqual([200, 404, 200]);
      });
      expect(forwarded.map((r) => r.url)).toEqual([
        '/repos/acme/api/issues?n=1',
        '/repos/acme/api/issues?n=3',
      ]);
    });

    it('Expect: 100-continue is answered only once the request is authorized', async () => {
      const refused = await openRaw(stack.url);
      try {
        await refused.write(
          `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n`,
        );
        const response = await refused.nextResponse();
        expect(response.status).toBe(401);
        expect(refused.interim).toEqual([]);
      } finally {
        refused.destroy();
      }

      const accepted = await openRaw(stack.url);
      try {
        const forwarded = await stack.forwardedDuring(async () => {
          await accepted.write(
            `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n`,
          );
          expect((await accepted.nextInterim()).status).toBe(100);
          await accepted.write('abcd');
          expect((await accepted.nextResponse()).status).toBe(200);
        });
        expect(forwarded).toHaveLength(1);
        expect(headerValues(forwarded[0] ?? ({ rawHeaders: [] } as never), 'expect')).toEqual([]);
        expect((await forwarded[0]?.settled)?.bodyLength).toBe(4);
      } finally {
        accepted.destroy();
      }
    });

    it('Expect with anything but 100-continue: 417, nothing forwarded', async () => {
      const { response } = await refusedRaw(
        stack,
        `POST /repos/acme/api/issues HTTP/1.1\r\n${host}\r\n${auth}\r\nExpect: teapot\r\nContent-Length: 0\r\n\r\n`,
      );
      expectProblem(response, 417, 'expectation_failed');
    });
  });
});
