import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { openRaw, type RawConnection } from '../helpers/raw-socket.js';
import { admin, createToken, type Stack, startStack } from '../helpers/stack.js';

/**
 * Class "Admin API bodies read whole before the size check": `readJson` used to
 * read the whole body and only then compare its size, so a 1.5 GB chunked body
 * from an org admin grew the process to 3.2 GB. Every admin call now cuts a body
 * off at 64 KiB while it streams, and answers 413 before the client has finished.
 */
const LIMIT = 64 * 1024;
const CHUNK = Buffer.alloc(8 * 1024, 'a');

let stack: Stack;
let carolToken: string;

beforeAll(async () => {
  stack = await startStack({ store: 'memory' });
  const adminUrl = stack.gateway.adminUrl;
  expect((await admin(adminUrl, 'PUT', '/v1/orgs/acme/members/carol', { role: 'admin' })).status).toBe(200);
  carolToken = (
    await createToken(adminUrl, {
      user: 'carol',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { organization_tokens: 'write' },
    })
  ).token;
});

afterAll(async () => {
  await stack?.close();
});

function head(method: string, path: string, credential: string, framing: string): string {
  return [
    `${method} ${path} HTTP/1.1`,
    'Host: admin.test',
    `Authorization: Bearer ${credential}`,
    'Content-Type: application/json',
    framing,
    '',
    '',
  ].join('\r\n');
}

/** Sends the head and more than the limit in chunks, and never the last chunk: the body stays open. */
async function openEndedChunkedBody(
  method: string,
  path: string,
  credential: string,
): Promise<RawConnection> {
  const conn = await openRaw(stack.gateway.adminUrl);
  await conn.write(head(method, path, credential, 'Transfer-Encoding: chunked'));
  for (let sent = 0; sent <= LIMIT; sent += CHUNK.length) {
    await conn.write(
      Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]),
    );
  }
  return conn;
}

describe('Admin API bodies read whole before the size check', () => {
  it.each([
    ['an org admin changing the policy', 'PUT', '/v1/orgs/acme/policy', 'carol'],
    [
      'an org admin deciding a request',
      'POST',
      '/v1/orgs/acme/token-requests/tok_aaaaaaaaaaaaaaaaaaaa/deny',
      'carol',
    ],
    ['the site admin creating a token', 'POST', '/v1/tokens', 'site'],
    ['the site admin revoking a token', 'DELETE', '/v1/tokens/tok_aaaaaaaaaaaaaaaaaaaa', 'site'],
    ['a caller with no valid credential', 'POST', '/v1/tokens', 'nobody'],
  ])(
    '%s: a chunked body over 64 KiB gets 413 while the client is still sending it',
    async (_name, method, path, who) => {
      const credential =
        who === 'carol' ? carolToken : who === 'site' ? TEST_ADMIN_TOKEN : 'not-a-credential';
      const conn = await openEndedChunkedBody(method, path, credential);
      try {
        // The body is still open (no terminating chunk was sent): only a streaming limit can answer now.
        const answer = await conn.nextResponse(5_000);
        expect(answer.status).toBe(413);
        expect(answer.header('content-type')).toBe('application/problem+json');
        expect(answer.json()).toMatchObject({
          type: 'https://patgate.dev/problems/too_large',
          status: 413,
          detail: 'request body over 64 KiB',
        });
        // The rest of the body is not waited for: the server ends the connection.
        expect(answer.header('connection')).toBe('close');
        await conn.closed;
        expect(conn.closedByServer).toBe(true);
      } finally {
        conn.destroy();
      }
    },
  );

  it('a declared content-length over the limit gets 413 before any of the body is sent', async () => {
    const conn = await openRaw(stack.gateway.adminUrl);
    try {
      await conn.write(head('PUT', '/v1/orgs/acme/policy', carolToken, `Content-Length: ${LIMIT + 1}`));
      const answer = await conn.nextResponse(5_000);
      expect(answer.status).toBe(413);
      expect(answer.json()).toMatchObject({ type: 'https://patgate.dev/problems/too_large' });
    } finally {
      conn.destroy();
    }
  });

  it('a chunked body under the limit is read and judged as before', async () => {
    const body = JSON.stringify({ reason: 'x'.repeat(LIMIT - 100) });
    const conn = await openRaw(stack.gateway.adminUrl);
    try {
      await conn.write(
        head('DELETE', '/v1/tokens/tok_aaaaaaaaaaaaaaaaaaaa', TEST_ADMIN_TOKEN, 'Transfer-Encoding: chunked'),
      );
      const bytes = Buffer.from(body);
      await conn.write(
        Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')]),
      );
      const answer = await conn.nextResponse(5_000);
      // Read whole and parsed: the reason is too long for the schema, not for the limit.
      expect(answer.status).toBe(400);
      expect(answer.json().detail).toMatch(/^reason: /);
    } finally {
      conn.destroy();
    }
  });
});
