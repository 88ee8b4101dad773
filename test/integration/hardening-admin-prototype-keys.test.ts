import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { admin, type Stack, startStack } from '../helpers/stack.js';

/**
 * Class "Prototype keys in permission maps": `POST /v1/tokens` with permission
 * keys that every object inherits (`constructor`, `toString`, `hasOwnProperty`)
 * answered 500, and `__proto__` (an own key after JSON.parse) was silently
 * dropped, issuing a token without it. Each is an unknown feature: 400 naming it.
 * The bodies are sent as raw JSON text, since building them as objects would
 * lose `__proto__` before it left the test.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ store: 'memory' });
});

afterAll(async () => {
  await stack?.close();
});

async function createRaw(
  permissionsJson: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${stack.gateway.adminUrl}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: `{"kind":"fine_grained","user":"alice","name":"ci","resource_owner":"alice","repositories":"all","expires_in_days":30,"permissions":${permissionsJson}}`,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('Prototype keys in permission maps', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'])(
    '"%s" is an unknown feature: 400 naming it, and no token is issued',
    async (key) => {
      const answer = await createRaw(`{"issues":"read",${JSON.stringify(key)}:"read"}`);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body).toMatchObject({
        type: 'https://patgate.dev/problems/invalid_input',
        field: `permissions.${key}`,
        detail: `permissions.${key}: unknown feature "${key}"`,
      });
    },
  );

  it('"__proto__" alone, or with an object value, is refused too (not dropped)', async () => {
    for (const permissions of ['{"__proto__":"read"}', '{"__proto__":{"issues":"admin"}}']) {
      const answer = await createRaw(permissions);
      expect(answer.status, permissions).toBe(400);
      expect(answer.body.field).toBe('permissions.__proto__');
    }
    const { body } = await admin(stack.gateway.adminUrl, 'GET', '/v1/tokens?user=alice');
    expect(body.tokens).toEqual([]);
  });

  it('declared features are still taken, and only they are kept', async () => {
    const answer = await createRaw('{"issues":"read","contents":"write"}');
    expect(answer.status).toBe(201);
    expect(answer.body.permissions).toEqual({ issues: 'read', contents: 'write' });
  });
});
