import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../routes/load-config.js';
import { importOpenApi, type RouteMapImport } from './build-route-map.js';
import { globMatches } from './map-operation.js';
import { renderRouteMap } from './render-yaml.js';
import { type ImportRules, importRulesSchema } from './rules-schema.js';

type Op = Record<string, unknown>;

function doc(paths: Record<string, Record<string, Op>>): unknown {
  return { openapi: '3.1.0', info: { title: 'T', version: '1' }, paths };
}

function rules(input: unknown): ImportRules {
  return importRulesSchema.parse(input);
}

function imported(document: unknown, r?: ImportRules): RouteMapImport {
  const result = importOpenApi(document, r);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.imported;
}

function errorsOf(document: unknown, r?: ImportRules): string[] {
  const result = importOpenApi(document, r);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

const routesOf = (i: RouteMapImport) => i.routes.map((r) => r.route);

describe('x-patgate extensions', () => {
  it('turns each form into a route and lists the rest as unmapped', () => {
    const result = imported(
      doc({
        '/a': {
          get: { operationId: 'a/get', 'x-patgate-permission': 'contents:read' },
          post: { operationId: 'a/post', 'x-patgate-permission': ['contents:write', 'issues:write'] },
          put: {
            operationId: 'a/put',
            'x-patgate-permission': { any_of: [['contents:write'], ['admin_x']] },
          },
          delete: { operationId: 'a/delete' },
        },
        '/health': { get: { 'x-patgate-public': true } },
        '/x/{ns}/{name}': {
          get: { 'x-patgate-permission': 'contents', 'x-patgate-resource': { owner: 'ns', repo: 'name' } },
        },
      }),
    );
    expect(routesOf(result)).toEqual([
      { route: 'GET /a', permission: 'contents:read' },
      // The specification's method order: get, put, post, delete, ...
      { route: 'PUT /a', any_of: [['contents:write'], ['admin_x:write']] },
      { route: 'POST /a', permission: ['contents:write', 'issues:write'] },
      { route: 'GET /health', public: true },
      { route: 'GET /x/{ns}/{name}', permission: 'contents:read', resource: { owner: 'ns', repo: 'name' } },
    ]);
    expect(result.unmapped).toEqual([
      {
        label: 'DELETE /a (a/delete)',
        reason: 'no x-patgate-permission or x-patgate-public, and no rule matches',
        reachableVia: undefined,
      },
    ]);
    expect(result.features).toEqual({
      admin_x: ['read', 'write'],
      contents: ['read', 'write'],
      issues: ['read', 'write'],
    });
  });

  const bad: [Op, string][] = [
    [{ 'x-patgate-permission': 42 }, 'x-patgate-permission must be'],
    [{ 'x-patgate-permission': [] }, 'x-patgate-permission must be'],
    [{ 'x-patgate-permission': { any_of: [] } }, 'x-patgate-permission must be'],
    [{ 'x-patgate-permission': 'Issues:read' }, '"Issues:read" is not "feature" or "feature:level"'],
    [{ 'x-patgate-permission': 'issues:own' }, '"issues:own" is not'],
    [{ 'x-patgate-public': 'yes' }, 'x-patgate-public must be true or false'],
    [{ 'x-patgate-public': true, 'x-patgate-permission': 'a:read' }, 'both'],
    [{ 'x-patgate-permission': 'a:read', 'x-patgate-resource': { owner: 'nope' } }, 'names "nope"'],
    [{ 'x-patgate-permission': 'a:read', 'x-patgate-resource': 'org' }, 'x-patgate-resource must be'],
    [{ 'x-patgate-resource': { owner: 'org' } }, 'x-patgate-resource without x-patgate-permission'],
  ];
  for (const [op, message] of bad) {
    it(`refuses ${JSON.stringify(op)}`, () => {
      const errors = errorsOf(doc({ '/o/{org}': { get: { operationId: 'op', ...op } } }));
      expect(errors).toEqual([expect.stringContaining(message)]);
      expect(errors[0]).toContain('GET /o/{org} (op)');
    });
  }
});

describe('rules', () => {
  const github = doc({
    '/repos/{owner}/{repo}/issues/{issue_number}': {
      get: {
        operationId: 'issues/get',
        tags: ['issues'],
        'x-github': { category: 'issues', subcategory: 'issues' },
      },
      patch: { operationId: 'issues/update', 'x-github': { category: 'issues', subcategory: 'issues' } },
    },
    '/repos/{owner}/{repo}/issues/{issue_number}/lock': {
      put: { operationId: 'issues/lock', 'x-github': { category: 'issues', subcategory: 'issues' } },
    },
    '/repos/{owner}/{repo}/issues/{issue_number}/timeline': {
      get: { operationId: 'issues/timeline', 'x-github': { category: 'issues', subcategory: 'timeline' } },
    },
    '/repos/{owner}/{repo}/contents/{path}': {
      get: { operationId: 'repos/get-content', tags: ['repos'] },
      put: { operationId: 'repos/put-content', tags: ['repos'], 'x-patgate-permission': 'contents:admin' },
    },
    '/users/{username}/repos': { get: { operationId: 'repos/list-for-user', tags: ['repos'] } },
    '/meta': { get: { operationId: 'meta/get', 'x-github': { category: 'meta', subcategory: 'meta' } } },
    '/notifications': { get: { operationId: 'activity/list', 'x-github': { category: 'activity' } } },
  });
  const githubRules = rules({
    implicit: ['metadata:read'],
    catch_all: ['path'],
    resources: [{ path: '/users/{username}/**', owner: 'username' }],
    methods: { PUT: 'admin' },
    map: [
      { category: 'activity', skip: 'not for fine-grained tokens' },
      { category: 'meta', public: true },
      { category: 'issues', subcategory: 'timeline', any_of: [['issues'], ['pull_requests']] },
      { category: 'issues', permission: 'issues' },
      { tag: 'repos', path: '/users/{username}/*', permission: 'metadata:read' },
      { tag: 'repos', permission: ['contents'] },
      { path: '/never/**', permission: 'x' },
    ],
    operations: {
      'issues/lock': { level: 'write' },
      'repos/put-content': { permission: 'contents:write' },
      'no/such-op': { public: true },
    },
  });

  it('maps by category, tag, path and method; operations overrides win; levels come from the method', () => {
    const result = imported(github, githubRules);
    expect(routesOf(result)).toEqual([
      { route: 'GET /repos/{owner}/{repo}/issues/{issue_number}', permission: 'issues:read' },
      { route: 'PATCH /repos/{owner}/{repo}/issues/{issue_number}', permission: 'issues:write' },
      { route: 'PUT /repos/{owner}/{repo}/issues/{issue_number}/lock', permission: 'issues:write' },
      {
        route: 'GET /repos/{owner}/{repo}/issues/{issue_number}/timeline',
        any_of: [['issues:read'], ['pull_requests:read']],
      },
      { route: 'GET /repos/{owner}/{repo}/contents/{path+}', permission: 'contents:read' },
      { route: 'PUT /repos/{owner}/{repo}/contents/{path+}', permission: 'contents:write' },
      { route: 'GET /users/{username}/repos', permission: 'metadata:read', resource: { owner: 'username' } },
      { route: 'GET /meta', public: true },
    ]);
    expect(result.routes.map((r) => r.source)).toEqual([
      'rules.map[3]',
      'rules.map[3]',
      'rules.map[3]',
      'rules.map[2]',
      'rules.map[5]',
      'rules.operations["repos/put-content"]',
      'rules.map[4]',
      'rules.map[1]',
    ]);
    expect(result.unmapped.map((u) => u.reason)).toEqual([
      'skipped by rules.map[0]: not for fine-grained tokens',
    ]);
    expect(result.warnings).toEqual([
      'rules.map[6] (path: /never/**) matched no operation',
      'rules.operations["no/such-op"]: the document has no such operationId',
    ]);
    expect(result.implicit).toEqual(['metadata:read']);
    expect(result.features.metadata).toEqual(['read']);
  });

  it('refuses a use the declared levels do not cover', () => {
    const errors = errorsOf(github, { ...githubRules, features: { issues: ['read'] } });
    expect(errors).toEqual([
      expect.stringContaining('needs issues:write, but rules.features.issues declares only [read]'),
      expect.stringContaining('needs issues:write, but rules.features.issues declares only [read]'),
    ]);
  });

  it('keeps declared features even when unused, so check can warn about them', () => {
    const result = imported(github, { ...githubRules, features: { wiki: ['read', 'write'] } });
    expect(result.features.wiki).toEqual(['read', 'write']);
  });

  it('reports a resource rule naming a parameter the path lacks', () => {
    const errors = errorsOf(github, {
      ...githubRules,
      resources: [{ path: '/users/{username}/**', owner: 'login' }],
    });
    expect(errors).toEqual([
      'GET /users/{username}/repos (repos/list-for-user): rules.resources[0].owner names "login", which is not a parameter of the path',
    ]);
  });
});

describe('conflicts', () => {
  it('merges operations that match the same requests with the same permissions', () => {
    const result = imported(
      doc({
        '/r/{owner}/{repo}/compare/{basehead}': {
          get: { operationId: 'b', 'x-patgate-permission': 'contents:read' },
        },
        '/r/{owner}/{repo}/compare/{base}...{head}': {
          get: { operationId: 'a', 'x-patgate-permission': 'contents:read' },
        },
      }),
    );
    expect(routesOf(result)).toEqual([
      // Sorted by path, "{basehead}" comes first and names the route.
      { route: 'GET /r/{owner}/{repo}/compare/{basehead}', permission: 'contents:read' },
    ]);
    expect(result.conflicts).toEqual([
      {
        resolution: 'merged',
        message: expect.stringContaining('match the same requests: one route'),
      },
    ]);
    expect(result.routes[0]?.operations).toEqual(['b', 'a']);
  });

  it('combines different permissions so a request needs what each operation needs', () => {
    const result = imported(
      doc({
        '/r/{owner}/{repo}/x/{id}': {
          get: {
            operationId: 'one',
            'x-patgate-permission': { any_of: [['issues:read'], ['pull_requests:read']] },
          },
        },
        '/r/{owner}/{repo}/x/{name}': {
          get: { operationId: 'two', 'x-patgate-permission': ['contents:read', 'issues:write'] },
        },
        '/r/{owner}/{repo}/x/{other}': { get: { operationId: 'three', 'x-patgate-public': true } },
      }),
    );
    expect(routesOf(result)).toEqual([
      {
        route: 'GET /r/{owner}/{repo}/x/{id}',
        any_of: [
          ['issues:write', 'contents:read'],
          ['pull_requests:read', 'contents:read', 'issues:write'],
        ],
      },
    ]);
    expect(result.conflicts.map((c) => c.resolution)).toEqual(['combined']);
  });

  it('leaves operations unmapped when they name different resources', () => {
    const result = imported(
      doc({
        '/p/{owner}/{repo}': { get: { operationId: 'repo', 'x-patgate-permission': 'contents:read' } },
        '/p/{org}/{name}': { get: { operationId: 'org', 'x-patgate-permission': 'contents:read' } },
      }),
    );
    expect(result.routes).toEqual([]);
    expect(result.unmapped.map((u) => u.label)).toEqual([
      'GET /p/{owner}/{repo} (repo)',
      'GET /p/{org}/{name} (org)',
    ]);
    expect(result.conflicts.map((c) => c.resolution)).toEqual(['unresolved']);
  });

  it('is deterministic whatever the document order', () => {
    const a = {
      '/r/{owner}/{repo}/x/{id}': { get: { operationId: 'one', 'x-patgate-permission': 'issues:read' } },
    };
    const b = {
      '/r/{owner}/{repo}/x/{name}': { get: { operationId: 'two', 'x-patgate-permission': 'contents:read' } },
    };
    expect(routesOf(imported(doc({ ...a, ...b })))).toEqual(routesOf(imported(doc({ ...b, ...a }))));
  });
});

describe('warnings', () => {
  it('says when an unmapped operation is still matched by another route', () => {
    const result = imported(
      doc({
        '/user/{item_id}': { get: { 'x-patgate-permission': 'metadata:read' } },
        '/user/installations': { get: { operationId: 'apps/list' } },
      }),
    );
    expect(result.unmapped[0]?.reachableVia).toBe('GET /user/{item_id}');
    expect(result.warnings).toEqual([
      'unmapped GET /user/installations (apps/list) is still matched by route "GET /user/{item_id}"',
    ]);
  });

  it('passes on shadowed rules from the route lint', () => {
    const result = imported(
      doc({
        '/a/{rest}': { get: { 'x-patgate-permission': 'contents:read' } },
        '/a/{x}': { get: { 'x-patgate-permission': 'contents:read' } },
        '/a/{x}/{tail}': { get: { 'x-patgate-permission': 'contents:read' } },
      }),
      rules({ catch_all: ['rest', 'tail'] }),
    );
    expect(result.warnings).toEqual([
      'route "GET /a/{rest+}": shadowed: every request it matches is taken by more specific rules: routes[1] "GET /a/{x}", routes[2] "GET /a/{x}/{tail+}"',
    ]);
  });
});

describe('documents', () => {
  it('refuses what is not OpenAPI 3.0 or 3.1', () => {
    expect(errorsOf({ swagger: '2.0', paths: {} })).toEqual([expect.stringContaining('OpenAPI 3.0 or 3.1')]);
    expect(errorsOf('nope')).toEqual(['the document is not an object']);
  });

  it('follows a local $ref to a Path Item', () => {
    const result = imported({
      openapi: '3.1.0',
      info: { title: 'T', version: '1' },
      paths: { '/a': { $ref: '#/components/pathItems/a' } },
      components: { pathItems: { a: { get: { 'x-patgate-public': true } } } },
    });
    expect(routesOf(result)).toEqual([{ route: 'GET /a', public: true }]);
  });
});

describe('globMatches', () => {
  const cases: [string, string, boolean][] = [
    ['/orgs/**', '/orgs/{org}/hooks', true],
    ['/orgs/**', '/orgs', true],
    ['/orgs/*', '/orgs/{org}', true],
    ['/orgs/*', '/orgs/{org}/hooks', false],
    ['/users/{username}/**', '/users/{user_id}/x', false],
    ['/**/hooks', '/orgs/{org}/hooks', true],
    ['/a', '/a/b', false],
  ];
  for (const [glob, path, expected] of cases) {
    it(`${glob} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
      expect(globMatches(glob, path)).toBe(expected);
    });
  }
});

describe('renderRouteMap', () => {
  it('writes YAML that loads as a config with the same routes', () => {
    const result = imported(
      doc({
        '/repos/{owner}/{repo}/x': {
          get: {
            operationId: 'x',
            'x-patgate-permission': { any_of: [['issues:read'], ['pull_requests:read']] },
          },
          post: { operationId: 'y', 'x-patgate-permission': ['issues:write', 'contents:read'] },
        },
        '/s/{a}/{b}': {
          get: { 'x-patgate-permission': 'contents:read', 'x-patgate-resource': { owner: 'a', repo: 'b' } },
        },
        '/health': { get: { 'x-patgate-public': true } },
        '/nope': { get: { operationId: 'with "quotes"\nand a newline' } },
      }),
      rules({ implicit: ['metadata:read'] }),
    );
    const text = renderRouteMap(result, { header: ['made by a test'], upstream: 'http://127.0.0.1:9' });
    expect(text.startsWith('# made by a test\n')).toBe(true);
    expect(text).toContain('#   GET /nope (with "quotes" and a newline): no x-patgate-permission');
    const loaded = loadConfigText(text, 'rendered.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    expect(loaded.loaded.config.routes).toEqual(routesOf(result));
    expect(loaded.loaded.config.implicit).toEqual(['metadata:read']);
    expect(loaded.loaded.config.features).toEqual(result.features);
  });

  it('writes a fragment without the server keys', () => {
    const text = renderRouteMap(imported(doc({ '/a': { get: { 'x-patgate-public': true } } })));
    expect(text).not.toContain('upstream:');
    expect(text).toContain('features: {}');
    expect(text).toContain('  - route: "GET /a"');
  });
});

describe('resources outside the path', () => {
  const document = {
    openapi: '3.1.0',
    info: { title: 'T', version: '1' },
    paths: {
      '/search/issues': {
        get: {
          operationId: 'search/issues',
          'x-patgate-permission': 'metadata:read',
          parameters: [
            { name: 'q', in: 'query', schema: { type: 'string' } },
            { $ref: '#/components/parameters/page' },
          ],
        },
      },
      '/repos/{owner}/{repo}/forks': {
        post: {
          operationId: 'repos/fork',
          'x-patgate-permission': 'contents:read',
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/fork' } } } },
        },
      },
      '/repos/{owner}/{repo}/transfer': {
        parameters: [{ $ref: '#/components/parameters/owner-filter' }],
        post: {
          operationId: 'repos/transfer',
          'x-patgate-permission': 'administration:write',
          requestBody: {
            content: {
              'application/json': {
                schema: { allOf: [{ type: 'object', properties: { new_owner: {}, team_ids: {} } }] },
              },
            },
          },
        },
      },
      '/meta': {
        get: {
          operationId: 'meta',
          'x-patgate-public': true,
          parameters: [{ name: 'q', in: 'query' }],
        },
      },
      '/repos/{owner}/{repo}/issues': {
        get: {
          operationId: 'issues/list',
          'x-patgate-permission': 'issues:read',
          parameters: [
            { name: 'state', in: 'query' },
            { name: 'repo_note', in: 'header' },
          ],
          requestBody: { content: { 'application/json': { schema: { properties: { title: {} } } } } },
        },
      },
    },
    components: {
      parameters: {
        page: { name: 'page', in: 'query' },
        'owner-filter': { name: 'owner', in: 'query' },
      },
      schemas: {
        fork: { type: 'object', properties: { organization: { type: 'string' }, name: { type: 'string' } } },
      },
    },
  };

  it('lists the owners and repositories each operation takes in its query or body', () => {
    const result = imported(document);
    const outside = Object.fromEntries(result.routes.map((r) => [r.operations[0], r.outsidePath]));
    expect(outside).toEqual({
      'search/issues': ['query "q" (a search query: qualifiers such as repo:, org:, user:)'],
      'repos/fork': ['body "organization" (an owner?)'],
      'repos/transfer': ['query "owner" (an owner?)', 'body "new_owner" (an owner?)'],
      // Public: no token is checked, so no owner of the token's can differ.
      meta: [],
      // Headers are not read; neither are names that are no owner or repository.
      'issues/list': [],
    });
  });

  it('warns on each, and marks it beside the route in the YAML', () => {
    const result = imported(document);
    expect(result.warnings).toEqual([
      'route "GET /search/issues": resources outside the path: query "q" (a search query: qualifiers such as repo:, org:, user:); the upstream must check it; the gateway checks only the path\'s resource',
      'route "POST /repos/{owner}/{repo}/forks": resources outside the path: body "organization" (an owner?); the upstream must check it; the gateway checks only the path\'s resource',
      'route "POST /repos/{owner}/{repo}/transfer": resources outside the path: query "owner" (an owner?), body "new_owner" (an owner?); the upstream must check them; the gateway checks only the path\'s resource',
    ]);
    const yaml = renderRouteMap(result);
    expect(yaml).toContain(
      '  - route: "GET /search/issues"  # search/issues [x-patgate-permission]; resources outside the path: query "q" (a search query: qualifiers such as repo:, org:, user:); the upstream must check it\n',
    );
    expect(yaml).toContain(
      '  - route: "POST /repos/{owner}/{repo}/forks"  # repos/fork [x-patgate-permission]; resources outside the path: body "organization" (an owner?); the upstream must check it\n',
    );
    expect(yaml).toContain('  - route: "GET /meta"  # meta [x-patgate-public]\n');
  });

  it('marks a path parameter that binds nothing, from the route lint, in the YAML too', () => {
    const result = imported(
      doc({
        '/user/blocks/{username}': {
          put: { operationId: 'users/block', 'x-patgate-permission': 'blocking:write' },
        },
      }),
    );
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(
      /^route "PUT \/user\/blocks\/\{username\}": resource outside the check: .*\{username\} \(an owner\?\)/,
    );
    expect(renderRouteMap(result)).toMatch(
      /# users\/block \[x-patgate-permission\]; resource outside the check: binds no resource/,
    );
  });

  it('acknowledges a parameter the rules say the upstream checks: route key, comment, no warning', () => {
    const result = imported(
      doc({
        '/user/blocks/{username}': {
          put: { operationId: 'users/block', 'x-patgate-permission': 'blocking:write' },
        },
      }),
      rules({
        upstream_checks: [{ path: '/user/blocks/*', params: ['username'], why: 'anyone can be blocked' }],
      }),
    );
    expect(result.warnings).toEqual([]);
    expect(routesOf(result)).toEqual([
      { route: 'PUT /user/blocks/{username}', permission: 'blocking:write', upstream_checks: ['username'] },
    ]);
    const yaml = renderRouteMap(result, { upstream: 'https://upstream.example' });
    expect(yaml).toContain(
      '  - route: "PUT /user/blocks/{username}"  # users/block [x-patgate-permission]; the upstream checks {username} itself: anyone can be blocked\n' +
        '    permission: "blocking:write"\n    upstream_checks: ["username"]\n',
    );
    expect(loadConfigText(yaml, 'blocks.yaml').ok).toBe(true);
  });

  it('keeps an acknowledgement on a merged route only where every operation has it', () => {
    const result = imported(
      doc({
        '/u/{username}/a': { get: { operationId: 'a', 'x-patgate-permission': 'x:read' } },
        '/u/{login}/a': { get: { operationId: 'b', 'x-patgate-permission': 'x:read' } },
      }),
      rules({ upstream_checks: [{ path: '/u/{username}/a', params: ['username'], why: 'w' }] }),
    );
    expect(routesOf(result)).toEqual([{ route: 'GET /u/{login}/a', permission: 'x:read' }]);
    const both = imported(
      doc({
        '/u/{username}/a': { get: { operationId: 'a', 'x-patgate-permission': 'x:read' } },
        '/u/{login}/a': { get: { operationId: 'b', 'x-patgate-permission': 'x:read' } },
      }),
      rules({
        upstream_checks: [
          { path: '/u/{username}/a', params: ['username'], why: 'w' },
          { path: '/u/{login}/a', params: ['login'], why: 'w' },
        ],
      }),
    );
    expect(routesOf(both)).toEqual([
      { route: 'GET /u/{login}/a', permission: 'x:read', upstream_checks: ['login'] },
    ]);
  });

  it('unions what merged operations take', () => {
    const result = imported(
      doc({
        '/s/{a}': {
          get: {
            operationId: 's1',
            'x-patgate-permission': 'x:read',
            parameters: [{ name: 'q', in: 'query' }],
          },
        },
        '/s/{b}': {
          get: {
            operationId: 's2',
            'x-patgate-permission': 'x:read',
            parameters: [{ name: 'repo', in: 'query' }],
          },
        },
      }),
    );
    expect(result.routes[0]?.outsidePath).toEqual([
      'query "q" (a search query: qualifiers such as repo:, org:, user:)',
      'query "repo" (a repository?)',
    ]);
  });
});
