import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { admin, createToken, type Stack, stackConfig, startStack } from '../helpers/stack.js';

/**
 * Class "Admin credential": the site credential opens every org, so `patgate
 * serve` refuses to start with a guessable one, and the admin listener stops
 * answering an address that keeps failing to authenticate (429, Retry-After,
 * without looking at the credential), logging and counting every failure.
 */
const MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');

/** Runs `patgate serve` with `adminToken`; resolves with its exit, or with "started" if it began listening. */
async function serveWith(adminToken: string): Promise<{ code: number | null; lines: string[] } | 'started'> {
  const dir = await mkdtemp(join(tmpdir(), 'patgate-cred-'));
  const configPath = join(dir, 'patgate.yaml');
  await writeFile(configPath, stackConfig({ store: 'memory' }, 'http://127.0.0.1:9', undefined));
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], {
    env: { PATH: process.env.PATH ?? '', PATGATE_ADMIN_TOKEN: adminToken, PATGATE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  return new Promise((settle) => {
    const onLine = (line: string): void => {
      lines.push(line);
      if (line.includes('"patgate listening"')) {
        child.kill('SIGKILL');
        settle('started');
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('close', (code) => settle({ code, lines }));
  });
}

describe('Admin credential: refused at startup when guessable', () => {
  it.each([
    ['shorter than 32 characters', 'Zq8kLm3Vx0pR7tY2wNa9cUe4Hs6', /27 characters long; at least 32/],
    ['one character repeated', 'x'.repeat(48), /repeats a 1-character unit/],
    ['a short unit repeated', 'admin123'.repeat(5), /repeats a 8-character unit/],
    ['too few distinct characters', 'abababbbaabaabbbabaabbabaaabbbabab', /only 2 distinct characters/],
  ])('%s: exit 2 with one line saying how to make one, no stack trace', async (_name, token, says) => {
    const outcome = await serveWith(token);
    expect(outcome, 'patgate started with a weak PATGATE_ADMIN_TOKEN').not.toBe('started');
    if (outcome === 'started') return;
    expect(outcome.code).toBe(2);
    expect(outcome.lines).toHaveLength(1);
    const [line] = outcome.lines;
    expect(line).toMatch(/^patgate: PATGATE_ADMIN_TOKEN /);
    expect(line).toMatch(says);
    expect(line).toContain('openssl rand -base64 33');
    expect(line).not.toContain(token);
  });

  it('starts with a random one', async () => {
    expect(await serveWith('k3Jt9qXw2LmB8vRz5NcY1hPd7GfA0sUe6WiOoT4')).toBe('started');
  });
});

describe('Admin credential: failed authentication throttled per client address', () => {
  let stack: Stack;
  // A second loopback address: its own allowance, while 127.0.0.1 keeps working.
  const fromOther = new Agent({ localAddress: '127.0.0.2' });

  beforeAll(async () => {
    stack = await startStack({ store: 'memory' });
  });

  afterAll(async () => {
    await fromOther.close();
    await stack?.close();
  });

  async function callFromOther(credential: string | undefined, path = '/v1/tokens') {
    const res = await request(`${stack.gateway.adminUrl}${path}`, {
      dispatcher: fromOther,
      headers: credential === undefined ? {} : { authorization: `Bearer ${credential}` },
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      body: JSON.parse(text) as Record<string, unknown>,
    };
  }

  async function failures(): Promise<Record<string, number>> {
    const res = await request(`${stack.gateway.adminUrl}/metrics`);
    const counts: Record<string, number> = {};
    for (const m of (await res.body.text()).matchAll(
      /^patgate_admin_auth_failures_total\{reason="(\w+)"\} (\d+)$/gm,
    )) {
      counts[m[1] as string] = Number(m[2]);
    }
    return counts;
  }

  it('after 10 failures a minute, answers 429 with Retry-After without checking the credential', async () => {
    const adminUrl = stack.gateway.adminUrl;
    await admin(adminUrl, 'PUT', '/v1/orgs/acme/members/carol', { role: 'admin' });
    const carol = await createToken(adminUrl, {
      user: 'carol',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { organization_tokens: 'write' },
    });
    const revoked = await createToken(adminUrl, {
      user: 'carol',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { organization_tokens: 'write' },
    });
    expect((await admin(adminUrl, 'DELETE', `/v1/tokens/${revoked.id}`)).status).toBe(200);
    const before = await failures();

    // Success, and refusals of credentials that did authenticate (403), do not count.
    for (let i = 0; i < 12; i++) {
      expect((await callFromOther(TEST_ADMIN_TOKEN)).status).toBe(200);
      expect((await callFromOther(carol.token)).status).toBe(403);
    }

    const wrong = ['wrong-site-credential-0123456789abcdef', revoked.token, undefined];
    for (let i = 0; i < 10; i++) {
      const answer = await callFromOther(wrong[i % wrong.length], '/v1/orgs/acme/policy');
      expect(answer.status, `failure ${i + 1}`).toBe(401);
    }

    // The 11th attempt is not checked: even the right credential is refused now.
    const throttled = await callFromOther(TEST_ADMIN_TOKEN);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['content-type']).toBe('application/problem+json');
    const retryAfter = Number(throttled.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(retryAfter)).toBe(
      true,
    );
    expect(throttled.body).toMatchObject({
      type: 'https://patgate.dev/problems/too_many_failures',
      status: 429,
    });
    expect((await callFromOther(carol.token, '/v1/orgs/acme/policy')).status).toBe(429);

    // Another address is not affected.
    expect((await admin(adminUrl, 'GET', '/v1/tokens')).status).toBe(200);

    // Counted by reason.
    const after = await failures();
    const delta = (reason: string) => (after[reason] ?? 0) - (before[reason] ?? 0);
    expect([delta('invalid'), delta('revoked'), delta('missing'), delta('throttled')]).toEqual([4, 3, 3, 2]);

    // Logged, with the address and the reason, never the credential.
    const logged = stack.gateway.output.filter(
      (l) => l.includes('admin authentication failed') && l.includes('"address":"127.0.0.2"'),
    );
    expect(logged).toHaveLength(10);
    expect(JSON.parse(logged[0] ?? '{}')).toMatchObject({
      level: 40,
      reason: 'invalid',
      path: '/v1/orgs/acme/policy',
    });
    for (const secret of [...wrong.filter((w) => w !== undefined), TEST_ADMIN_TOKEN, carol.token]) {
      expect(stack.gateway.output.some((l) => l.includes(secret))).toBe(false);
    }
    expect(
      stack.gateway.output.some((l) => l.includes('admin authentication throttled for this address')),
    ).toBe(true);
  });
});
