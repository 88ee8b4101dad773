import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { admin, call, type Stack, startStack } from '../helpers/stack.js';

/** `patgate token ...` against a real gateway process (Redis store). */
let stack: Stack;
let site: (args: string[]) => ReturnType<typeof runCli>;

beforeAll(async () => {
  stack = await startStack({ store: 'redis' });
  site = (args) =>
    runCli(['token', ...args, '--admin-url', stack.gateway.adminUrl], {
      PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    });
});

afterAll(async () => {
  await stack?.close();
});

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

const CREATE = [
  'create',
  '--user',
  'alice',
  '--name',
  'ci deploy',
  '--owner',
  'acme',
  '--repos',
  'api,web',
  '--permission',
  'issues:write',
  '--permission',
  'contents:read',
  '--expires-in-days',
  '30',
];

// Each CLI run is a fresh Node process: give the multi-step cases room on a loaded 2-core machine.
describe('patgate token', { timeout: 60_000 }, () => {
  it('create prints the token for people, with the secret once, and it works', async () => {
    const { code, stdout, stderr } = await site(CREATE);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^id:\s+tok_[a-z0-9]{20}$/m);
    expect(stdout).toMatch(/^owner:\s+acme$/m);
    expect(stdout).toMatch(/^repos:\s+api, web$/m);
    expect(stdout).toMatch(/^permissions:\s+issues:write, contents:read$/m);
    expect(stdout).toContain('(shown once: store it now)');
    const secret = /^token:\s+(pgt_\S+)$/m.exec(stdout)?.[1] ?? '';
    expect((await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: secret })).status).toBe(
      200,
    );
  });

  it('create --json, list, show, regenerate and revoke for scripts', async () => {
    const created = json((await site([...CREATE, '--json'])).stdout);
    expect(created).toMatchObject({ kind: 'fine_grained', status: 'active', repositories: ['api', 'web'] });
    const id = String(created.id);

    const listed = json(
      (await site(['list', '--user', 'alice', '--owner', 'acme', '--status', 'active', '--json'])).stdout,
    );
    expect((listed.tokens as { id: string }[]).map((t) => t.id)).toContain(id);
    expect(JSON.stringify(listed)).not.toContain(String(created.token));

    expect(json((await site(['show', id, '--json'])).stdout)).toMatchObject({ id, last_used_at: null });

    const renewed = json((await site(['regenerate', id, '--expires-in-days', '7', '--json'])).stdout);
    expect(renewed.id).toBe(id);
    expect(renewed.token).not.toBe(created.token);
    expect(
      (await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: String(created.token) }))
        .status,
    ).toBe(401);
    expect(
      (await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: String(renewed.token) }))
        .status,
    ).toBe(200);

    const revoked = await site(['revoke', id, '--reason', 'rotated']);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${id}\n` });
    expect(json((await site(['show', id, '--json'])).stdout)).toMatchObject({
      status: 'revoked',
      status_reason: 'rotated',
    });
  });

  it('list and show read well for people', async () => {
    await site(['create', '--kind', 'classic', '--user', 'bob', '--name', 'laptop', '--scope', 'read']);
    const { stdout } = await site(['list', '--user', 'bob']);
    const [header, row] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+KIND\s+USER\s+OWNER\s+STATUS\s+EXPIRES\s+NAME$/);
    expect(row).toMatch(/^tok_\S+\s+classic\s+bob\s+\*\s+active\s+\d{4}-\d\d-\d\d\s+laptop$/);
    const id = row?.split(/\s+/)[0] ?? '';
    const shown = (await site(['show', id])).stdout;
    expect(shown).toMatch(/^scopes:\s+read$/m);
    expect(shown).toMatch(/^last used:\s+never$/m);
    expect((await site(['list', '--user', 'nobody'])).stdout).toBe('(none)\n');
  });

  it('a refusal exits 1 with the API detail on stderr, and the problem on stdout with --json', async () => {
    const human = await site([
      'create',
      '--user',
      'alice',
      '--name',
      'x',
      '--owner',
      'acme',
      '--repos',
      'all',
      '--permission',
      'isues:read',
      '--expires-in-days',
      '3',
    ]);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/admin API answered 400: permissions.isues: unknown feature "isues"/);
    const scripted = await site(['show', 'tok_aaaaaaaaaaaaaaaaaaaa', '--json']);
    expect(scripted.code).toBe(1);
    expect(json(scripted.stdout)).toMatchObject({ status: 404 });
  });

  it('without the credential it names PATGATE_ADMIN_TOKEN and calls nothing; a wrong one or a wrong URL exits 1', async () => {
    const anonymous = await runCli(['token', 'list', '--admin-url', 'http://127.0.0.1:1']);
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(/^patgate: set PATGATE_ADMIN_TOKEN to the site admin credential/);
    expect(anonymous.stderr.trimEnd().split('\n')).toHaveLength(1);
    const wrong = await runCli(['token', 'list', '--admin-url', stack.gateway.adminUrl], {
      PATGATE_ADMIN_TOKEN: 'not-the-credential-0123456789abcdefgh',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/admin API answered 401.*\(check PATGATE_ADMIN_TOKEN\)$/m);
    const nowhere = await runCli(['token', 'list', '--admin-url', 'http://127.0.0.1:1'], {
      PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/cannot reach the admin API at http:\/\/127.0.0.1:1/);
  });

  it('a fine-grained token reaches every repository only when asked for with --repos all', async () => {
    const base = [
      'create',
      '--user',
      'dora',
      '--name',
      'x',
      '--owner',
      'acme',
      '--permission',
      'issues:read',
    ];
    const omitted = await site([...base, '--expires-in-days', '3']);
    expect(omitted.code).toBe(2);
    expect(omitted.stderr).toMatch(/needs --repos: .*--repos all/);
    expect(omitted.stdout).toBe('');
    expect((await site(['list', '--user', 'dora'])).stdout).toBe('(none)\n');

    const all = json((await site([...base, '--repos', 'all', '--expires-in-days', '3', '--json'])).stdout);
    expect(all).toMatchObject({ user: 'dora', repositories: 'all' });
    // A classic token names no repositories, so it needs no --repos.
    const classic = await site([
      'create',
      '--kind',
      'classic',
      '--user',
      'dora',
      '--name',
      'y',
      '--scope',
      'read',
    ]);
    expect(classic.code).toBe(0);
  });

  it('create --description: kept by the store, shown by show, list and the admin API, through regenerate', async () => {
    const description = 'Deploys acme/api from CI.\nAsk #platform before revoking.';
    const created = json((await site([...CREATE, '--description', description, '--json'])).stdout);
    expect(created.description).toBe(description);
    const id = String(created.id);

    const shown = await site(['show', id]);
    expect(shown.stdout).toMatch(/^description:\s+Deploys acme\/api from CI\.$/m);
    const read = await admin(stack.gateway.adminUrl, 'GET', `/v1/tokens/${id}`);
    expect(read.body).toMatchObject({ id, description });
    const listed = await admin(stack.gateway.adminUrl, 'GET', '/v1/tokens?user=alice');
    expect(
      (listed.body.tokens as { id: string; description?: string }[]).find((t) => t.id === id),
    ).toMatchObject({
      description,
    });
    const renewed = json((await site(['regenerate', id, '--expires-in-days', '7', '--json'])).stdout);
    expect(renewed.description).toBe(description);

    // None given, or empty: the token has none, and no member says otherwise.
    const plain = json((await site([...CREATE, '--json'])).stdout);
    expect(plain).not.toHaveProperty('description');
    const empty = await admin(stack.gateway.adminUrl, 'POST', '/v1/tokens', {
      kind: 'classic',
      user: 'alice',
      name: 'laptop',
      scopes: ['read'],
      description: '',
    });
    expect(empty.status).toBe(201);
    expect(empty.body).not.toHaveProperty('description');
  });

  it.each<[string, unknown]>([
    ['over 1024 characters', 'x'.repeat(1025)],
    ['not a string', 42],
    ['a terminal escape (not plain text)', 'ci \u001b]8;;https://evil.example\u0007link'],
    ['a bidi override (not plain text)', 'ci \u202etxt.exe'],
  ])('refuses a description %s with 400 naming the field, creating nothing', async (_label, description) => {
    const before = await admin(stack.gateway.adminUrl, 'GET', '/v1/tokens?user=dora');
    const answer = await admin(stack.gateway.adminUrl, 'POST', '/v1/tokens', {
      kind: 'classic',
      user: 'dora',
      name: 'laptop',
      scopes: ['read'],
      description,
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('description');
    expect((await admin(stack.gateway.adminUrl, 'GET', '/v1/tokens?user=dora')).body).toEqual(before.body);
  });

  it('refuses a malformed --permission before calling anything', async () => {
    const { code, stderr } = await site(['create', '--user', 'a', '--name', 'b', '--permission', 'issues']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/feature:level/);
  });
});
