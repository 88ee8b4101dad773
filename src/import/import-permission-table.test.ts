import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../routes/load-config.js';
import { importPermissionTable, type PermissionTableImport } from './import-permission-table.js';
import { renderRouteMap } from './render-yaml.js';
import { type ImportRules, importRulesSchema } from './rules-schema.js';

const row = (verb: string, requestPath: string, access: string, additional = false) => ({
  verb,
  requestPath,
  access,
  'additional-permissions': additional,
  slug: 's',
});

const TABLE = {
  metadata: { title: 'Metadata', permissions: [row('get', '/repos/{owner}/{repo}', 'read')] },
  contents: {
    title: 'Contents',
    permissions: [
      row('get', '/repos/{owner}/{repo}/contents/{path}', 'read'),
      row('put', '/repos/{owner}/{repo}/contents/{path}', 'write', true),
      row('get', '/repos/{owner}/{repo}/commits/{ref}', 'read'),
      row('get', '/repos/{owner}/{repo}/commits/{ref}/status', 'read'),
    ],
  },
  workflows: {
    title: 'Workflows',
    permissions: [row('put', '/repos/{owner}/{repo}/contents/{path}', 'write', true)],
  },
  blocking: { title: 'Block another user', permissions: [row('put', '/user/blocks/{username}', 'write')] },
  starring: { title: 'Starring', permissions: [row('get', '/users/{username}/starred', 'read')] },
  members: { title: 'Members', permissions: [row('get', '/orgs/{org}/members', 'read')] },
};

type Op = Record<string, unknown>;
const doc = (paths: Record<string, Record<string, Op>>): unknown => ({
  openapi: '3.0.3',
  info: { title: 'GitHub', version: '9' },
  paths,
});
const multi = (name: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  'x-multi-segment': true,
});

const DOC = doc({
  '/repos/{owner}/{repo}': { get: { operationId: 'repos/get' } },
  '/repos/{owner}/{repo}/contents/{path}': {
    get: { operationId: 'repos/get-content', parameters: [multi('path')] },
    put: {
      operationId: 'repos/put-content',
      parameters: [multi('path')],
      requestBody: { content: { 'application/json': { schema: { properties: { committer_repo: {} } } } } },
    },
  },
  '/repos/{owner}/{repo}/commits/{ref}': {
    get: { operationId: 'repos/get-commit', parameters: [multi('ref')] },
  },
  '/repos/{owner}/{repo}/commits/{ref}/status': { get: { operationId: 'repos/get-status' } },
  '/user/blocks/{username}': { put: { operationId: 'users/block' } },
  '/meta': { get: { operationId: 'meta/get', 'x-github': { category: 'meta' } } },
  '/notifications': {
    get: { operationId: 'activity/list-notifications', 'x-github': { category: 'activity' } },
  },
  '/orgs/{org}/{thing}': { get: { operationId: 'orgs/get-thing', 'x-github': { category: 'orgs' } } },
  '/orgs/{org}/members': { post: { operationId: 'orgs/not-in-table', 'x-github': { category: 'orgs' } } },
});

const rules = (input: unknown): ImportRules => importRulesSchema.parse(input);

function imported(
  table: unknown,
  options: Parameters<typeof importPermissionTable>[1] = {},
): PermissionTableImport {
  const result = importPermissionTable(table, options);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.imported;
}

describe('importPermissionTable: the table alone', () => {
  const result = imported(TABLE);

  it('makes one route per endpoint requiring what the table says, in table order', () => {
    expect(result.routes.map((r) => r.route)).toEqual([
      { route: 'GET /repos/{owner}/{repo}', permission: 'metadata:read' },
      { route: 'GET /repos/{owner}/{repo}/contents/{path}', permission: 'contents:read' },
      {
        route: 'PUT /repos/{owner}/{repo}/contents/{path}',
        permission: ['contents:write', 'workflows:write'],
      },
      { route: 'GET /repos/{owner}/{repo}/commits/{ref}', permission: 'contents:read' },
      { route: 'GET /repos/{owner}/{repo}/commits/{ref}/status', permission: 'contents:read' },
      { route: 'PUT /user/blocks/{username}', permission: 'blocking:write' },
      { route: 'GET /users/{username}/starred', permission: 'starring:read' },
      { route: 'GET /orgs/{org}/members', permission: 'members:read' },
    ]);
    expect(result.routes.map((r) => r.source)).toEqual(Array(8).fill('table'));
  });

  it("takes the table's permission keys and titles, read up to the highest level, and metadata:read implicit", () => {
    expect(result.features).toEqual({
      blocking: ['read', 'write'],
      contents: ['read', 'write'],
      members: ['read'],
      metadata: ['read'],
      starring: ['read'],
      workflows: ['read', 'write'],
    });
    expect(result.featureTitles?.blocking).toBe('Block another user');
    expect(result.implicit).toEqual(['metadata:read']);
  });

  it('lists flagged endpoints as read conservatively, and notes it beside the route', () => {
    expect(result.conservative).toEqual([
      {
        endpoint: 'PUT /repos/{owner}/{repo}/contents/{path}',
        requires: ['contents:write', 'workflows:write'],
        reading: 'together',
      },
    ]);
    expect(result.routes[2]?.notes).toEqual([expect.stringContaining('all required together')]);
  });

  it('warns that without a document no parameter is a tail, and agrees with the table', () => {
    expect(result.warnings[0]).toMatch(/^no OpenAPI document: /);
    expect(result.agreement.unambiguous).toMatchObject({ total: 7, agree: 7 });
    expect(result.agreement.flagged).toMatchObject({ total: 1, agree: 1 });
  });

  it('renders YAML that loads, with titles beside the features and the conservative list', () => {
    const yaml = renderRouteMap(result, { upstream: 'https://api.github.com' });
    expect(yaml).toContain('  blocking: [read, write]  # Block another user\n');
    expect(yaml).toContain(
      "# GitHub's fine-grained PAT permissions table (8 endpoints, 6 permissions): 8 operations -> 8 routes",
    );
    expect(yaml).toContain(
      '#   PUT /repos/{owner}/{repo}/contents/{path}: contents:write + workflows:write\n',
    );
    const loaded = loadConfigText(yaml, 'table.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    expect(loaded.loaded.matcher.rules).toHaveLength(8);
  });

  it('refuses a table that is not the docs-data shape', () => {
    const bad = importPermissionTable({ contents: { title: 'Contents', permissions: [{ verb: 'get' }] } });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^table: contents\.permissions\[0\]\.requestPath: /)]),
    );
  });
});

describe('importPermissionTable: merged with the OpenAPI document', () => {
  const githubRules = rules({
    resources: [{ path: '/users/{username}/**', owner: 'username' }],
    upstream_checks: [
      { path: '/user/blocks/{username}', params: ['username'], why: 'anyone can be blocked' },
    ],
    map: [
      { category: 'meta', public: true },
      { category: 'orgs', permission: 'members:write' },
    ],
    operations: { 'repos/get': { permission: 'contents:admin' } },
  });
  const result = imported(TABLE, { document: DOC, rules: githubRules });
  const route = (pattern: string) => result.routes.find((r) => r.route.route === pattern);

  it('takes tails from x-multi-segment, unless another operation of the method continues past it', () => {
    expect(route('GET /repos/{owner}/{repo}/contents/{path+}')?.route.permission).toBe('contents:read');
    expect(route('PUT /repos/{owner}/{repo}/contents/{path+}')).toBeDefined();
    const commit = route('GET /repos/{owner}/{repo}/commits/{ref}');
    expect(commit?.notes).toEqual([
      '{ref} is one segment: a {ref+} tail would also take GET /repos/{owner}/{repo}/commits/{ref}/status',
    ]);
  });

  it('keeps document order, then the endpoints the document lacks; the table wins over the rules', () => {
    expect(result.routes.map((r) => r.route.route)).toEqual([
      'GET /repos/{owner}/{repo}',
      'GET /repos/{owner}/{repo}/contents/{path+}',
      'PUT /repos/{owner}/{repo}/contents/{path+}',
      'GET /repos/{owner}/{repo}/commits/{ref}',
      'GET /repos/{owner}/{repo}/commits/{ref}/status',
      'PUT /user/blocks/{username}',
      'GET /meta',
      'GET /orgs/{org}/{thing}',
      'POST /orgs/{org}/members',
      // Not in the document: in table order.
      'GET /users/{username}/starred',
      'GET /orgs/{org}/members',
    ]);
    expect(route('GET /repos/{owner}/{repo}')?.route.permission).toBe('metadata:read');
    expect(result.warnings).toContain(
      `rules.operations["repos/get"]: not used: GitHub's table states this operation`,
    );
    expect(route('GET /meta')?.notes).toEqual(["not in GitHub's fine-grained permission table"]);
  });

  it('leaves unmapped what neither the table nor the rules map, saying so', () => {
    expect(result.unmapped).toEqual([
      {
        label: 'GET /notifications (activity/list-notifications)',
        reason: "not in GitHub's fine-grained permission table, and no rule maps it",
        reachableVia: undefined,
      },
    ]);
  });

  it('leaves out a rules-mapped operation that matches the same requests as a table endpoint', () => {
    const clash = imported(TABLE, {
      document: doc({
        '/orgs/{org}/members': { get: { operationId: 'orgs/list-members' } },
        '/orgs/{org}/{thing}': { get: { operationId: 'orgs/get-thing', 'x-github': { category: 'orgs' } } },
        '/orgs/{owner}/members': {
          get: { operationId: 'orgs/list-members-again', 'x-github': { category: 'orgs' } },
        },
      }),
      rules: githubRules,
    });
    expect(clash.routes.find((r) => r.route.route === 'GET /orgs/{org}/members')?.route.permission).toBe(
      'members:read',
    );
    expect(clash.unmapped.map((u) => u.reason)).toContain(
      "matches the same requests as GET /orgs/{org}/members (orgs/list-members), which GitHub's table states",
    );
    expect(clash.conflicts).toEqual([]);
  });

  it('binds resources and acknowledges upstream checks from the rules', () => {
    expect(route('GET /users/{username}/starred')?.route.resource).toEqual({ owner: 'username' });
    const block = route('PUT /user/blocks/{username}');
    expect(block?.route.upstream_checks).toEqual(['username']);
    expect(block?.notes).toContain('the upstream checks {username} itself: anyone can be blocked');
    expect(result.warnings.some((w) => w.includes('resource outside the check'))).toBe(false);
  });

  it('passes on owners and repositories the document shows in bodies', () => {
    expect(route('PUT /repos/{owner}/{repo}/contents/{path+}')?.outsidePath).toEqual([
      'body "committer_repo" (a repository?)',
    ]);
  });

  it('refuses an upstream_checks entry naming a parameter the path lacks', () => {
    const result = importPermissionTable(TABLE, {
      document: DOC,
      rules: rules({ upstream_checks: [{ path: '/user/blocks/*', params: ['user'], why: 'x' }] }),
    });
    expect(result.ok ? [] : result.errors).toEqual([
      'PUT /user/blocks/{username} (users/block): rules.upstream_checks[0].params names "user", which is not a parameter of the path',
    ]);
  });
});
