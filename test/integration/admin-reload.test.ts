import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway, TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

/**
 * `POST /v1/admin/reload` through the real process: the same reload as SIGHUP, answered with
 * what changed, or 422 and why (the old map keeps serving); site admin only.
 */
let upstream: TestUpstream;
let gateway: GatewayProcess;
let original: string;

const config = (upstreamUrl: string): string => `listen: "127.0.0.1:0"
upstream:
  url: "${upstreamUrl}"
admin:
  listen: "127.0.0.1:0"
cache:
  ttl_ms: 60000
features:
  issues: [read, write]
routes:
  - route: "GET /status"
    public: true
  - route: "GET /repos/{owner}/{repo}/issues"
    permission: "issues:read"
`;

beforeAll(async () => {
  upstream = await startTestUpstream();
  gateway = await startGateway(config(upstream.url));
  original = await readFile(gateway.configPath, 'utf8');
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

async function reload(
  credential = TEST_ADMIN_TOKEN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await fetch(`${gateway.adminUrl}/v1/admin/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}` },
  });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

async function status(path: string): Promise<number> {
  const answer = await fetch(`${gateway.url}${path}`);
  await answer.arrayBuffer();
  return answer.status;
}

describe('POST /v1/admin/reload', { timeout: 30_000 }, () => {
  it('applies the edited file and says which routes were added, removed and changed', async () => {
    expect(await status('/added')).toBe(404);
    await writeFile(
      gateway.configPath,
      original
        .replace('permission: "issues:read"', 'permission: "issues:write"')
        .replace(
          '  - route: "GET /status"\n    public: true\n',
          '  - route: "GET /added"\n    public: true\n',
        ),
    );
    const { status: code, body } = await reload();
    expect(code).toBe(200);
    expect(body).toEqual({
      routes: {
        added: ['GET /added'],
        removed: ['GET /status'],
        changed: ['GET /repos/{owner}/{repo}/issues'],
      },
      restart_required: [],
    });
    expect(await status('/added')).toBe(200);
    expect(await status('/status')).toBe(404);
  });

  it('names the keys that need a restart against what runs, on every reload until they match again', async () => {
    await writeFile(gateway.configPath, original.replace('ttl_ms: 60000', 'ttl_ms: 5000'));
    const first = await reload();
    expect(first.body.restart_required).toEqual(['cache']);
    // The file has not changed since, but the process still runs with the old cache.
    const second = await reload();
    expect(second.status).toBe(200);
    expect(second.body.restart_required).toEqual(['cache']);
    expect(second.body.routes).toEqual({ added: [], removed: [], changed: [] });
    await writeFile(gateway.configPath, original);
    expect((await reload()).body.restart_required).toEqual([]);
  });

  it('a file that does not load: 422 naming why, and the current map keeps serving', async () => {
    await writeFile(gateway.configPath, original);
    expect((await reload()).status).toBe(200);
    await writeFile(
      gateway.configPath,
      `${original}  - route: "GET /broken"\n    permission: "nope:read"\n`.replace(
        '  - route: "GET /status"',
        '  - route: "GET /status-new"',
      ),
    );
    const refused = await fetch(`${gateway.adminUrl}/v1/admin/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await refused.json()) as { type: string; errors: string[]; detail: string };
    expect(problem.type).toMatch(/\/reload_refused$/);
    expect(problem.errors.join('\n')).toMatch(/nope/);
    expect(problem.detail).toMatch(/current route map stays/);
    expect(await status('/status')).toBe(200);
    expect(await status('/status-new')).toBe(404);
    await writeFile(gateway.configPath, original);
  });

  it('site admin only: an org admin with their own token gets 403, no credential 401', async () => {
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const member = await fetch(`${gateway.adminUrl}/v1/orgs/acme/members/carol`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ role: 'admin' }),
    });
    expect(member.status).toBe(200);
    const created = await fetch(`${gateway.adminUrl}/v1/tokens`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        kind: 'fine_grained',
        user: 'carol',
        name: 'acme-admin',
        resource_owner: 'acme',
        repositories: 'all',
        permissions: { organization_tokens: 'write' },
        expires_in_days: 30,
      }),
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    // The token is an org admin's: it may make that org's calls.
    const orgCall = await fetch(`${gateway.adminUrl}/v1/orgs/acme/members`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(orgCall.status).toBe(200);

    const refused = await reload(token);
    expect(refused.status).toBe(403);
    const anonymous = await fetch(`${gateway.adminUrl}/v1/admin/reload`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
  });

  it('the document on the admin listener describes the call, without a credential', async () => {
    const answer = await fetch(`${gateway.adminUrl}/openapi.json`);
    expect(answer.status).toBe(200);
    const doc = (await answer.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(doc.paths['/v1/admin/reload']).toHaveProperty('post');
  });
});
