import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/gateway-process.js';

const ROOT = resolve(import.meta.dirname, '../..');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'patgate-routes-cli-'));
});

async function configFile(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `upstream:\n  url: "http://127.0.0.1:9"\n${body}`);
  return path;
}

describe('patgate routes check', () => {
  const lintable = `features:
  contents: [read, write]
  pages: [read]
routes:
  - route: "GET /files/{rest+}"
    permission: "contents:read"
  - route: "GET /files/{name}"
    permission: "contents:read"
  - route: "GET /files/{name}/{more+}"
    permission: "contents:read"
implicit: []
`;

  it('prints shadowed rules and unused features as warnings with file and line, and exits 0', async () => {
    const path = await configFile('lint.yaml', lintable);
    const result = await runCli(['routes', 'check', '--config', path]);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `${path}:7: warning: routes[0] "GET /files/{rest+}": shadowed: every request it matches is taken by more specific rules: routes[1] "GET /files/{name}" (line 9), routes[2] "GET /files/{name}/{more+}" (line 11)`,
      `${path}:5: warning: features.pages: declared but no route requires it`,
    ]);
    expect(result.stdout).toBe(`${path}: ok: 3 routes, 2 features, 2 warning(s)\n`);
    expect(result.code).toBe(0);
  });

  it('makes warnings errors with --strict', async () => {
    const path = await configFile('strict.yaml', lintable);
    const result = await runCli(['routes', 'check', '--strict', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('2 warning(s), which --strict makes errors');
    expect(result.stdout).toBe('');
  });

  it('reports unknown features and levels and conflicts, each with file and line', async () => {
    const path = await configFile(
      'errors.yaml',
      `features:
  contents: [read]
routes:
  - route: "GET /a/{x}"
    permission: "contens:read"
  - route: "GET /a/{y}"
    permission: "contents:write"
implicit: []
`,
    );
    const result = await runCli(['routes', 'check', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${path}:6: routes[0] "GET /a/{x}": permission: unknown feature "contens"`,
    );
    expect(result.stderr).toContain(
      `${path}:8: routes[1] "GET /a/{y}": permission: feature "contents" has no level "write" (declared: read)`,
    );
    expect(result.stderr).toContain(
      `${path}:8: routes[1] "GET /a/{y}": conflicts with routes[0] "GET /a/{x}" (line 6)`,
    );
  });
});

describe('patgate routes explain', () => {
  it('shows the rule, its line, the resource and the permissions, or "no route"', async () => {
    const path = await configFile(
      'explain.yaml',
      `features:
  issues: [read, write]
  pull_requests: [read]
routes:
  - route: "GET /repos/{owner}/{repo}/issues/{n}/timeline"
    any_of: [["issues:read"], ["pull_requests:read"]]
implicit: []
`,
    );
    const hit = await runCli([
      'routes',
      'explain',
      '--config',
      path,
      'GET',
      '/repos/acme/api/issues/3/timeline',
    ]);
    expect(hit.code).toBe(0);
    expect(hit.stdout.split('\n')).toEqual([
      'GET /repos/acme/api/issues/3/timeline',
      `  rule:     GET /repos/{owner}/{repo}/issues/{n}/timeline  (${path}:7 routes[0])`,
      '  needs:    any of: issues:read or pull_requests:read on repository {owner}/{repo}',
      '  params:   owner=acme repo=api n=3',
      '  resource: repository acme/api',
      '  denied:   403 with X-Accepted-Permissions: issues=read; pull_requests=read',
      '',
    ]);
    const miss = await runCli(['routes', 'explain', '--config', path, 'GET', '/nowhere']);
    expect(miss.code).toBe(1);
    expect(miss.stdout).toContain('no route');
  });
});

describe('patgate routes import --from openapi', () => {
  it('turns x-patgate extensions into routes and lists unmapped operations on stderr', async () => {
    const result = await runCli([
      'routes',
      'import',
      '--from',
      'openapi',
      'config/examples/notes-api.openapi.yaml',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  - route: "POST /repos/{owner}/{repo}/notes/{note_id}/publish"');
    expect(result.stdout).toContain('    permission: ["notes:write", "pages:write"]');
    expect(result.stdout).toContain('    any_of: [["notes:read"], ["audit:read"]]');
    expect(result.stdout).toContain('    resource: { owner: "space", repo: "notebook" }');
    expect(result.stdout).toContain('#   POST /admin/reindex (admin/reindex): no x-patgate-permission');
    expect(result.stderr).toContain('unmapped: POST /admin/reindex (admin/reindex)');
    expect(result.stderr).toContain('8 operations: 7 routes, 1 unmapped (denied)');

    // The fragment plus an upstream is a config that loads.
    const path = await configFile('notes.yaml', result.stdout);
    const check = await runCli(['routes', 'check', '--strict', '--config', path]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
  });

  it('refuses a rules file with mistakes, naming each with its line', async () => {
    const rules = join(dir, 'bad-rules.yaml');
    await writeFile(
      rules,
      `map:
  - category: issues
    permission: "Issues"
  - tag: repos
operations:
  x: {}
`,
    );
    const result = await runCli([
      'routes',
      'import',
      '--from',
      'openapi',
      'config/examples/notes-api.openapi.yaml',
      '--rules',
      rules,
    ]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${rules}:3: map[0].permission:`);
    expect(result.stderr).toContain(
      `${rules}:4: map[1]: an entry needs exactly one of permission, any_of, public, skip`,
    );
    expect(result.stderr).toContain(`${rules}:6: operations.x: an override needs an outcome or a level`);
  });

  it('refuses a document that is not valid OpenAPI, and an unknown source format', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses: 12\n');
    const invalid = await runCli(['routes', 'import', '--from', 'openapi', broken]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('not a valid OpenAPI document');

    const missing = await runCli(['routes', 'import', '--from', 'openapi', join(dir, 'absent.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read OpenAPI document');

    const swagger = await runCli(['routes', 'import', '--from', 'swagger', broken]);
    expect(swagger.code).toBe(2);
    expect(swagger.stderr).toContain('--from swagger: expected one of "openapi", "github-permissions"');

    const misplaced = await runCli(['routes', 'import', '--from', 'openapi', broken, '--openapi', broken]);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('--openapi goes with --from github-permissions');
  });
});

describe('patgate routes import --from github-permissions', () => {
  const row = (verb: string, requestPath: string, access: string, additional = false) => ({
    verb,
    requestPath,
    access,
    'additional-permissions': additional,
  });
  const TABLE = {
    metadata: { title: 'Metadata', permissions: [row('get', '/repos/{owner}/{repo}', 'read')] },
    issues: {
      title: 'Issues',
      permissions: [
        row('get', '/repos/{owner}/{repo}/issues', 'read'),
        row('post', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 'write', true),
      ],
    },
    pull_requests: {
      title: 'Pull requests',
      permissions: [row('post', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 'write', true)],
    },
    blocking: { title: 'Block another user', permissions: [row('put', '/user/blocks/{username}', 'write')] },
  };

  it('writes a map requiring what the table says, lists what it read conservatively, and agrees with it', async () => {
    const table = join(dir, 'table.json');
    await writeFile(table, JSON.stringify(TABLE));
    const result = await runCli(['routes', 'import', '--from', 'github-permissions', table]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  issues: [read, write]  # Issues\n');
    expect(result.stdout).toContain(
      '  - route: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"  # POST /repos/{owner}/{repo}/issues/{issue_number}/comments [table]; ',
    );
    expect(result.stdout).toContain('    permission: ["issues:write", "pull_requests:write"]\n');
    expect(result.stdout).toContain('implicit: ["metadata:read"]');
    const stderr = result.stderr.split('\n').filter(Boolean);
    expect(stderr).toContain(
      'conservative: POST /repos/{owner}/{repo}/issues/{issue_number}/comments: requires issues:write + pull_requests:write together (the table flags additional permissions)',
    );
    expect(stderr).toContain(
      'agreement with the table: 3/3 unambiguous endpoints exactly, 1/1 flagged endpoints at least; 1 read conservatively',
    );
    expect(stderr.at(-1)).toBe(
      `${table}: 4 operations: 4 routes, 0 unmapped (denied), 0 conflict(s) resolved, 0 unresolved, 4 features`,
    );

    // Loads; the only warning is the unacknowledged {username}, which the rules can acknowledge.
    const map = await configFile('table-map.yaml', result.stdout);
    const check = await runCli(['routes', 'check', '--strict', '--config', map]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('"PUT /user/blocks/{username}": resource outside the check');

    const rules = join(dir, 'table-rules.yaml');
    await writeFile(
      rules,
      'upstream_checks:\n  - path: "/user/blocks/{username}"\n    params: [username]\n    why: anyone can be blocked\n',
    );
    const acknowledged = await runCli([
      'routes',
      'import',
      '--from',
      'github-permissions',
      table,
      '--rules',
      rules,
    ]);
    expect(acknowledged.stdout).toContain('    upstream_checks: ["username"]\n');
    const clean = await runCli([
      'routes',
      'check',
      '--strict',
      '--config',
      await configFile('table-map-ack.yaml', acknowledged.stdout),
    ]);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
  });

  it('refuses a file that is not JSON, or not the table', async () => {
    const notJson = join(dir, 'table.yaml');
    await writeFile(notJson, 'issues: {}\n');
    const a = await runCli(['routes', 'import', '--from', 'github-permissions', notJson]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(`${notJson}: permission table is not JSON`);

    const wrong = join(dir, 'wrong-table.json');
    await writeFile(
      wrong,
      JSON.stringify({ issues: { title: 'Issues', permissions: [row('get', 'x', 'read')] } }),
    );
    const b = await runCli(['routes', 'import', '--from', 'github-permissions', wrong]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(
      `${wrong}: table: issues.permissions[0].requestPath: expected a path starting with "/"`,
    );
    expect(b.stdout).toBe('');
  });

  it('reproduces config/examples/github-api.yaml from its sources exactly', { timeout: 60_000 }, async () => {
    const out = join(dir, 'github-api.yaml');
    // The same arguments as the header of the committed file, from the repository root.
    const committed = await readFile(resolve(ROOT, 'config/examples/github-api.yaml'), 'utf8');
    const command = /^# Generated by: patgate (.*)$/m.exec(committed)?.[1];
    expect(command).toBe(
      'routes import --from github-permissions config/examples/github-fine-grained-pat-permissions.json --openapi node_modules/@octokit/openapi/generated/api.github.com.json --rules config/examples/github-table-rules.yaml --upstream https://api.github.com',
    );
    const result = await runCli([...(command ?? '').split(' '), '--out', out]);
    expect(result.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(committed);
    const stderr = result.stderr.split('\n').filter(Boolean);
    expect(stderr).toContain(
      'agreement with the table: 841/841 unambiguous endpoints exactly, 101/101 flagged endpoints at least; 101 read conservatively',
    );
    expect(stderr.filter((l) => l.startsWith('conservative: '))).toHaveLength(101);
    expect(stderr.filter((l) => l.startsWith('disagrees: '))).toEqual([]);
    expect(stderr.at(-1)).toMatch(
      /^\S+: 1\d{3} operations: 1\d{3} routes, \d+ unmapped \(denied\), 0 conflict\(s\) resolved, 0 unresolved, \d+ features; wrote /,
    );
    // Its warnings: owners and repositories outside the path (queries, bodies), which GitHub
    // checks, and unmapped operations a broader route still matches (docs/github-map.md).
    const warnings = stderr.filter((line) => line.startsWith('warning:'));
    for (const w of warnings) {
      expect(w).toMatch(
        /^warning: (route "[^"]+": resources outside the path: |unmapped .* is still matched by route )/,
      );
    }
    expect(warnings.filter((w) => w.startsWith('warning: unmapped'))).toHaveLength(4);
  });
});

describe('upstream_checks in a config', () => {
  it('silences the lint for the parameters it names, and explain shows it', async () => {
    const path = await configFile(
      'ack.yaml',
      `features:
  blocking: [write]
routes:
  - route: "PUT /user/blocks/{username}"
    permission: "blocking:write"
    upstream_checks: [username]
implicit: []
`,
    );
    const check = await runCli(['routes', 'check', '--strict', '--config', path]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    const explain = await runCli(['routes', 'explain', '--config', path, 'PUT', '/user/blocks/octocat']);
    expect(explain.stdout).toContain(
      '  upstream: checks {username}=octocat itself (upstream_checks); the gateway does not\n',
    );
  });

  it('refuses a name that is not a parameter of the route, and a public route with the key, each with its line', async () => {
    const notParam = await configFile(
      'ack-bad.yaml',
      `features:
  blocking: [write]
routes:
  - route: "PUT /user/blocks/{username}"
    permission: "blocking:write"
    upstream_checks: [user]
implicit: []
`,
    );
    const a = await runCli(['routes', 'check', '--config', notParam]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(
      `${notParam}:6: routes[0] "PUT /user/blocks/{username}": upstream_checks[0]: "user" is not a parameter of the pattern`,
    );

    const onPublic = await configFile(
      'ack-public.yaml',
      `features: {}
routes:
  - route: "GET /status/{x}"
    public: true
    upstream_checks: [x]
implicit: []
`,
    );
    const b = await runCli(['routes', 'check', '--config', onPublic]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(
      `${onPublic}:7: routes[0].upstream_checks ("GET /status/{x}"): a public route checks no token`,
    );
  });
});
