import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Level } from '../config/permission.js';
import type { RouteConfig } from '../config/schema.js';
import { type CompileRoutesInput, compileRoutes } from './compile.js';
import { parsePattern } from './pattern.js';
import { type MatchStats, RouteTrie } from './trie.js';
import type { RouteError, RouteMatcher, RouteRule } from './types.js';

const FEATURES: Readonly<Record<string, readonly Level[]>> = {
  metadata: ['read'],
  contents: ['read', 'write'],
  issues: ['read', 'write'],
  pull_requests: ['read', 'write'],
  members: ['read', 'write'],
};

/** Test-only rendering; the config loader owns the operator-facing format. */
function formatRouteError(error: RouteError): string {
  if (error.index < 0) return error.message;
  const line = error.line === undefined ? '' : ` (line ${error.line})`;
  return `routes[${error.index}] "${error.pattern}"${line}: ${error.message}`;
}

function compile(routes: readonly RouteConfig[], extra: Partial<CompileRoutesInput> = {}) {
  return compileRoutes({ routes, features: FEATURES, implicit: [], defaultMaxBodyBytes: 1024, ...extra });
}

function matcherFor(patterns: readonly string[]): RouteMatcher {
  const result = compile(patterns.map((route) => ({ route, permission: 'contents:read' })));
  if (!result.ok) throw new Error(result.errors.map(formatRouteError).join('\n'));
  return result.matcher;
}

function errorsFor(routes: readonly RouteConfig[], extra: Partial<CompileRoutesInput> = {}): RouteError[] {
  const result = compile(routes, extra);
  if (result.ok) throw new Error('expected the route table to be refused');
  return result.errors;
}

function matchedPattern(matcher: RouteMatcher, method: string, path: string): string | null {
  return matcher.match(method, path)?.rule.pattern ?? null;
}

describe('precedence: most specific wins whatever the order', () => {
  const cases: { routes: string[]; method: string; path: string; expected: string | null }[] = [
    { routes: ['GET /a/{x}', 'GET /a/b'], method: 'GET', path: '/a/b', expected: 'GET /a/b' },
    { routes: ['GET /a/{x}', 'GET /a/b'], method: 'GET', path: '/a/c', expected: 'GET /a/{x}' },
    { routes: ['GET /a/{x+}', 'GET /a/{x}'], method: 'GET', path: '/a/b', expected: 'GET /a/{x}' },
    { routes: ['GET /a/{x+}', 'GET /a/{x}'], method: 'GET', path: '/a/b/c', expected: 'GET /a/{x+}' },
    { routes: ['GET /a/{x+}', 'GET /a/b', 'GET /a/{y}'], method: 'GET', path: '/a/b', expected: 'GET /a/b' },
    { routes: ['GET /{x+}', 'GET /a/{y+}'], method: 'GET', path: '/a/b', expected: 'GET /a/{y+}' },
    { routes: ['GET /{x+}', 'GET /a/{y+}'], method: 'GET', path: '/b/c', expected: 'GET /{x+}' },
    { routes: ['GET /{x+}', 'GET /{y}/{z+}'], method: 'GET', path: '/a/b', expected: 'GET /{y}/{z+}' },
    { routes: ['GET /{x+}', 'GET /{y}/{z+}'], method: 'GET', path: '/a', expected: 'GET /{x+}' },
    // The first differing position decides, even when a later position disagrees.
    { routes: ['GET /a/{x}/c', 'GET /a/b/{y}'], method: 'GET', path: '/a/b/c', expected: 'GET /a/b/{y}' },
    { routes: ['GET /a/{x}/c', 'GET /a/{x}/{y}'], method: 'GET', path: '/a/b/c', expected: 'GET /a/{x}/c' },
    // Deep backtracking: the literal branch dead-ends two levels down.
    {
      routes: ['GET /a/b/c/d', 'GET /a/{x}/c/e'],
      method: 'GET',
      path: '/a/b/c/e',
      expected: 'GET /a/{x}/c/e',
    },
    {
      routes: ['GET /a/b/{x}/d', 'GET /a/{x}/c/{y+}', 'GET /{z+}'],
      method: 'GET',
      path: '/a/b/c/e/f',
      expected: 'GET /a/{x}/c/{y+}',
    },
    {
      routes: ['GET /a/b/{x}/d', 'GET /a/{x}/c/{y+}', 'GET /{z+}'],
      method: 'GET',
      path: '/a/b/x/e',
      expected: 'GET /{z+}',
    },
    { routes: ['GET /a/b/c'], method: 'GET', path: '/a/b', expected: null },
    { routes: ['GET /a/{x+}'], method: 'GET', path: '/a', expected: null },
    { routes: ['GET /', 'GET /{x+}'], method: 'GET', path: '/', expected: 'GET /' },
    { routes: ['GET /{x+}'], method: 'GET', path: '/', expected: null },
    { routes: ['GET /A'], method: 'GET', path: '/a', expected: null },
    { routes: ['GET /a'], method: 'POST', path: '/a', expected: null },
  ];
  for (const { routes, method, path, expected } of cases) {
    it(`${method} ${path} with [${routes.join(', ')}] -> ${expected}`, () => {
      expect(matchedPattern(matcherFor(routes), method, path)).toBe(expected);
      expect(matchedPattern(matcherFor([...routes].reverse()), method, path)).toBe(expected);
    });
  }
});

describe('params', () => {
  it('captures raw segments, still percent-encoded', () => {
    const m = matcherFor(['GET /repos/{owner}/{repo}/issues/{number}']);
    expect(m.match('GET', '/repos/acme/api%20x/issues/12')?.params).toEqual({
      owner: 'acme',
      repo: 'api%20x',
      number: '12',
    });
  });

  it('joins a catch-all with "/"', () => {
    const m = matcherFor(['GET /repos/{owner}/{repo}/contents/{path+}']);
    expect(m.match('GET', '/repos/acme/api/contents/src/lib/a.ts')?.params).toEqual({
      owner: 'acme',
      repo: 'api',
      path: 'src/lib/a.ts',
    });
    expect(m.match('GET', '/repos/acme/api/contents/README')?.params.path).toBe('README');
  });

  it('uses the names of the rule that matched, not of a rule sharing the trie branch', () => {
    const m = matcherFor(['GET /a/{x}/c', 'POST /a/{y}/d']);
    expect(m.match('GET', '/a/1/c')?.params).toEqual({ x: '1' });
    expect(m.match('POST', '/a/2/d')?.params).toEqual({ y: '2' });
  });

  it('drops values captured on a branch that was backtracked', () => {
    const m = matcherFor(['GET /{a}/{b}/x', 'GET /{c}/y/{d+}']);
    expect(m.match('GET', '/1/y/z/w')?.params).toEqual({ c: '1', d: 'z/w' });
  });

  it('allows a param called __proto__ or constructor', () => {
    const m = matcherFor(['GET /{__proto__}/{constructor}']);
    const params = m.match('GET', '/a/b')?.params;
    expect(Object.entries(params ?? {})).toEqual([
      ['__proto__', 'a'],
      ['constructor', 'b'],
    ]);
  });

  it('never matches an ambiguous path, even if the target check was skipped', () => {
    const m = matcherFor(['GET /{x+}', 'GET /a/{x}']);
    for (const path of ['', 'a', '//', '/a/', '/a//b', '/a/..', '/./a', '/..']) {
      expect(m.match('GET', path)).toBeNull();
    }
  });
});

describe('methods', () => {
  it('HEAD falls back to GET, then *', () => {
    const m = matcherFor(['GET /a', '* /b', 'HEAD /c', 'GET /c', '* /d', 'GET /d']);
    expect(matchedPattern(m, 'HEAD', '/a')).toBe('GET /a');
    expect(matchedPattern(m, 'HEAD', '/d')).toBe('GET /d');
    expect(matchedPattern(m, 'HEAD', '/b')).toBe('* /b');
    expect(matchedPattern(m, 'HEAD', '/c')).toBe('HEAD /c');
    expect(matchedPattern(m, 'GET', '/c')).toBe('GET /c');
  });

  it('on the same shape: exact method, then GET for HEAD, then *', () => {
    const m = matcherFor(['* /a/{x}', 'GET /a/{y}', 'HEAD /a/{z}', 'POST /a/{w}']);
    expect(matchedPattern(m, 'GET', '/a/1')).toBe('GET /a/{y}');
    expect(matchedPattern(m, 'HEAD', '/a/1')).toBe('HEAD /a/{z}');
    expect(matchedPattern(m, 'POST', '/a/1')).toBe('POST /a/{w}');
    expect(matchedPattern(m, 'DELETE', '/a/1')).toBe('* /a/{x}');
    expect(matchedPattern(m, 'PROPFIND', '/a/1')).toBe('* /a/{x}');
  });

  it('a more specific path under * beats a broader method-specific rule', () => {
    const m = matcherFor(['GET /{rest+}', '* /admin/{rest+}', 'HEAD /{x}/{y}']);
    expect(matchedPattern(m, 'GET', '/admin/users')).toBe('* /admin/{rest+}');
    expect(matchedPattern(m, 'GET', '/public/x')).toBe('GET /{rest+}');
    // HEAD's own rule is less specific than the * rule here, so it does not apply.
    expect(matchedPattern(m, 'HEAD', '/admin/users')).toBe('* /admin/{rest+}');
    expect(matchedPattern(m, 'HEAD', '/public/x')).toBe('HEAD /{x}/{y}');
    expect(matchedPattern(m, 'HEAD', '/public/x/y')).toBe('GET /{rest+}');
  });

  it('a GET rule more specific than a HEAD rule wins for HEAD', () => {
    const m = matcherFor(['HEAD /a/{x}', 'GET /a/b']);
    expect(matchedPattern(m, 'HEAD', '/a/b')).toBe('GET /a/b');
    expect(matchedPattern(m, 'HEAD', '/a/c')).toBe('HEAD /a/{x}');
  });

  it('does not give GET rules to other methods', () => {
    const m = matcherFor(['GET /a', 'HEAD /b']);
    expect(m.match('POST', '/a')).toBeNull();
    expect(m.match('GET', '/b')).toBeNull();
  });

  it('accepts any upper-case RFC 9110 token as a method', () => {
    const m = matcherFor(['PROPFIND /dav', 'M-SEARCH /ssdp', 'PURGE /cache']);
    expect(matchedPattern(m, 'PROPFIND', '/dav')).toBe('PROPFIND /dav');
    expect(matchedPattern(m, 'M-SEARCH', '/ssdp')).toBe('M-SEARCH /ssdp');
    expect(m.match('propfind', '/dav')).toBeNull();
  });
});

describe('requirements', () => {
  it('turns permission, permission lists and any_of into alternatives', () => {
    const result = compile([
      { route: 'GET /repos/{owner}/{repo}', permission: 'contents:read' },
      { route: 'POST /repos/{owner}/{repo}/merge', permission: ['pull_requests:write', 'contents:write'] },
      {
        route: 'GET /repos/{owner}/{repo}/timeline',
        any_of: [['pull_requests:read', 'contents:read'], ['issues:read']],
      },
      { route: 'GET /status', public: true },
    ]);
    if (!result.ok) throw new Error('expected ok');
    expect(result.matcher.rules.map((r) => r.requirement)).toEqual([
      {
        kind: 'permissions',
        alternatives: [[{ feature: 'contents', level: 'read' }]],
        resource: { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
      },
      {
        kind: 'permissions',
        alternatives: [
          [
            { feature: 'pull_requests', level: 'write' },
            { feature: 'contents', level: 'write' },
          ],
        ],
        resource: { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
      },
      {
        kind: 'permissions',
        alternatives: [
          [
            { feature: 'pull_requests', level: 'read' },
            { feature: 'contents', level: 'read' },
          ],
          [{ feature: 'issues', level: 'read' }],
        ],
        resource: { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
      },
      { kind: 'public' },
    ]);
  });

  it('returns the implicit permissions and keeps index, method and line on each rule', () => {
    const result = compile(
      [
        { route: 'GET /a', permission: 'contents:read' },
        { route: '* /b', public: true },
      ],
      { implicit: ['metadata:read'], lines: [7, undefined] },
    );
    if (!result.ok) throw new Error('expected ok');
    expect(result.implicit).toEqual([{ feature: 'metadata', level: 'read' }]);
    const [a, b] = result.matcher.rules;
    expect(a).toMatchObject({ index: 0, pattern: 'GET /a', method: 'GET', line: 7 });
    expect(b).toMatchObject({ index: 1, pattern: '* /b', method: '*', line: undefined });
  });

  const bindings: { route: RouteConfig; expected: unknown }[] = [
    {
      route: { route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:read' },
      expected: { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
    },
    {
      route: { route: 'GET /orgs/{org}/members', permission: 'members:read' },
      expected: { kind: 'owner', ownerParam: 'org' },
    },
    {
      route: { route: 'GET /users/{owner}/stuff', permission: 'contents:read' },
      expected: { kind: 'owner', ownerParam: 'owner' },
    },
    {
      route: { route: 'GET /x/{org}/{owner}', permission: 'contents:read' },
      expected: { kind: 'owner', ownerParam: 'org' },
    },
    {
      route: { route: 'GET /x/{org}/{owner}/{repo}', permission: 'contents:read' },
      expected: { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
    },
    { route: { route: 'GET /user/issues', permission: 'issues:read' }, expected: { kind: 'token_owner' } },
    { route: { route: 'GET /x/{repo}', permission: 'issues:read' }, expected: { kind: 'token_owner' } },
    {
      route: {
        route: 'GET /projects/{ns}/{name}/{rest+}',
        permission: 'contents:read',
        resource: { owner: 'ns', repo: 'name' },
      },
      expected: { kind: 'repository', ownerParam: 'ns', repoParam: 'name' },
    },
    {
      route: { route: 'GET /teams/{t}/{owner}/{repo}', permission: 'members:read', resource: { owner: 't' } },
      expected: { kind: 'owner', ownerParam: 't' },
    },
  ];
  for (const { route, expected } of bindings) {
    it(`binds ${route.route}${route.resource ? ` with resource ${JSON.stringify(route.resource)}` : ''}`, () => {
      const result = compile([route]);
      if (!result.ok) throw new Error(result.errors.map(formatRouteError).join('\n'));
      const requirement = result.matcher.rules[0]?.requirement;
      expect(requirement?.kind === 'permissions' ? requirement.resource : undefined).toEqual(expected);
    });
  }
});

describe('body limits', () => {
  it('gives each rule its own max_body_bytes, else the default; 0 stays 0 (refuses any body)', () => {
    const result = compile(
      [
        { route: 'GET /a', permission: 'contents:read' },
        { route: 'PUT /a', permission: 'contents:write', max_body_bytes: 0 },
        { route: 'POST /a', permission: 'contents:write', max_body_bytes: 1_000_000 },
        { route: 'GET /b', public: true },
      ],
      { defaultMaxBodyBytes: 4096 },
    );
    if (!result.ok) throw new Error(result.errors.map(formatRouteError).join('\n'));
    expect(result.matcher.rules.map((r) => r.maxBodyBytes)).toEqual([4096, 0, 1_000_000, 4096]);
    expect(result.matcher.match('PUT', '/a')?.rule.maxBodyBytes).toBe(0);
  });

  it('refuses a default that is not a non-negative integer, rather than compile rules without a limit', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, undefined as unknown as number]) {
      expect(() => compile([], { defaultMaxBodyBytes: bad })).toThrow(RangeError);
    }
  });
});

describe('upstream_checks', () => {
  it('keeps the acknowledged parameters on the rule, and none where there is no key', () => {
    const result = compile([
      { route: 'PUT /user/blocks/{username}', permission: 'members:write', upstream_checks: ['username'] },
      { route: 'GET /user/keys/{key_id}', permission: 'members:read' },
    ]);
    if (!result.ok) throw new Error(result.errors.map(formatRouteError).join('\n'));
    expect(result.matcher.rules.map((r) => r.upstreamChecks)).toEqual([['username'], []]);
  });

  it('refuses a name that is not a parameter, a repeated one, the bound resource, and a public route', () => {
    const errors = errorsFor([
      { route: 'PUT /user/blocks/{username}', permission: 'members:write', upstream_checks: ['user'] },
      { route: 'GET /a/{x}', permission: 'members:read', upstream_checks: ['x', 'x'] },
      { route: 'GET /orgs/{org}/x/{username}', permission: 'members:read', upstream_checks: ['org'] },
      { route: 'GET /b/{x}', public: true, upstream_checks: ['x'] },
    ]);
    expect(errors.map(formatRouteError)).toEqual([
      'routes[0] "PUT /user/blocks/{username}": upstream_checks[0]: "user" is not a parameter of the pattern',
      'routes[1] "GET /a/{x}": upstream_checks[1]: "x" is listed twice',
      'routes[2] "GET /orgs/{org}/x/{username}": upstream_checks[0]: "{org}" is the route\'s resource, which the gateway checks itself',
      'routes[3] "GET /b/{x}": upstream_checks: a public route checks no token, so it has nothing to leave',
    ]);
  });
});

describe('config errors', () => {
  const patternErrors: [string, string][] = [
    ['GET', 'expected "METHOD /path"'],
    ['GET/a', 'expected "METHOD /path"'],
    [' /a', 'missing method'],
    ['get /a', 'method "get" must be upper case'],
    ['G(T /a', '"G(T" is not an HTTP method token'],
    ['GET  /a', 'exactly one space'],
    ['GET a/b', 'must start with "/"'],
    ['GET /a/', 'trailing "/"'],
    ['GET /a//b', 'empty segment ("//")'],
    ['GET //', 'empty segment ("//")'],
    ['GET /a/{b', 'unclosed "{"'],
    ['GET /a/{b/c}', 'unclosed "{"'],
    ['GET /a/b}', '"}" without "{"'],
    ['GET /a/x{b}', '"{" inside literal segment'],
    ['GET /a/{}', 'empty parameter name'],
    ['GET /a/{+}', 'empty parameter name'],
    ['GET /a/{{b}}', 'nested braces'],
    ['GET /a/{1b}', 'parameter name "1b"'],
    ['GET /a/{b-c}', 'parameter name "b-c"'],
    ['GET /a/{b+}/c', 'catch-all "{b+}" must be the last segment'],
    ['GET /{a}/{a}', 'parameter "a" appears twice'],
    ['GET /{a}/{a+}', 'parameter "a" appears twice'],
    ['GET /a/./b', 'dot segment "."'],
    ['GET /a/..', 'dot segment ".."'],
    ['GET /a%2Fb', 'percent-escape'],
    ['GET /a;v=1', '";" in literal segment'],
    ['GET /a?x=1', '"?" in the path'],
    ['GET /a#x', '"#" in the path'],
    ['GET /a b', 'character 0x20'],
    ['GET /a"b', 'character """'],
    ['GET /a\\b', 'character "\\"'],
    ['GET /é', 'character 0xe9'],
  ];
  for (const [pattern, message] of patternErrors) {
    it(`refuses pattern ${JSON.stringify(pattern)}: ${message}`, () => {
      const errors = errorsFor([{ route: pattern, public: true }]);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toContain(message);
      expect(errors[0]).toMatchObject({ index: 0, pattern });
    });
  }

  it('accepts every RFC 3986 pchar except "%" and ";" in literals', () => {
    expect(compile([{ route: "GET /aZ09-._~!$&'()*+,=:@", public: true }]).ok).toBe(true);
  });

  const permissionErrors: [RouteConfig, string][] = [
    [{ route: 'GET /a', permission: 'isues:read' }, 'permission: unknown feature "isues"'],
    [
      { route: 'GET /a', permission: 'metadata:write' },
      'permission: feature "metadata" has no level "write" (declared: read)',
    ],
    [{ route: 'GET /a', permission: 'contents' }, 'permission: "contents" is not of the form feature:level'],
    [{ route: 'GET /a', permission: 'contents:own' }, 'permission: "own" is not a level'],
    [{ route: 'GET /a', permission: 'Contents:read' }, 'permission: "Contents" is not a valid feature name'],
    [{ route: 'GET /a', permission: 'constructor:read' }, 'permission: unknown feature "constructor"'],
    [
      { route: 'GET /a', permission: ['contents:read', 'isues:read'] },
      'permission[1]: unknown feature "isues"',
    ],
    [
      { route: 'GET /a', any_of: [['contents:read'], ['issues:read', 'x:read']] },
      'any_of[1][1]: unknown feature "x"',
    ],
    [{ route: 'GET /a' }, 'exactly one of "permission", "any_of" or "public: true"'],
    [{ route: 'GET /a', public: true, permission: 'contents:read' }, 'exactly one of'],
    [{ route: 'GET /a', permission: [] }, 'empty permission list'],
    [{ route: 'GET /a', any_of: [['contents:read'], []] }, 'empty permission list'],
    [
      { route: 'GET /{owner}', public: true, resource: { owner: 'owner' } },
      'a public route names no resource',
    ],
  ];
  for (const [route, message] of permissionErrors) {
    it(`refuses ${JSON.stringify(route)}: ${message}`, () => {
      const errors = errorsFor([route]);
      expect(errors.map((e) => e.message)).toEqual([expect.stringContaining(message)]);
    });
  }

  const resourceErrors: [RouteConfig, string][] = [
    [
      { route: 'GET /a/{x}', permission: 'contents:read', resource: { owner: 'y' } },
      'resource.owner names "y", which is not a parameter of the pattern',
    ],
    [
      { route: 'GET /a/{x}', permission: 'contents:read', resource: { owner: 'x', repo: 'r' } },
      'resource.repo names "r"',
    ],
    [
      { route: 'GET /a/{x}/{r+}', permission: 'contents:read', resource: { owner: 'x', repo: 'r' } },
      'resource.repo: "{r+}" is a catch-all',
    ],
    [
      { route: 'GET /a/{x}', permission: 'contents:read', resource: { owner: 'x', repo: 'x' } },
      'name the same parameter',
    ],
    [{ route: 'GET /repos/{owner}/{repo+}', permission: 'contents:read' }, '"{repo+}" is a catch-all'],
    [{ route: 'GET /orgs/{org+}', permission: 'members:read' }, '"{org+}" is a catch-all'],
    [{ route: 'GET /users/{owner+}', permission: 'members:read' }, '"{owner+}" is a catch-all'],
  ];
  for (const [route, message] of resourceErrors) {
    it(`refuses ${JSON.stringify(route)}: ${message}`, () => {
      expect(errorsFor([route]).map((e) => e.message)).toEqual([expect.stringContaining(message)]);
    });
  }

  it('refuses bad implicit permissions with index -1 and pattern "implicit"', () => {
    const errors = errorsFor([], { implicit: ['metadata:read', 'metadata:write', 'nope'] });
    expect(errors).toEqual([
      {
        index: -1,
        pattern: 'implicit',
        line: undefined,
        message: 'implicit[1]: feature "metadata" has no level "write" (declared: read)',
      },
      {
        index: -1,
        pattern: 'implicit',
        line: undefined,
        message: 'implicit[2]: "nope" is not of the form feature:level',
      },
    ]);
  });

  it('names both routes of a conflict, whatever the param names', () => {
    const errors = errorsFor(
      [
        { route: 'GET /a/b', permission: 'contents:read' },
        { route: 'GET /a/{y}', permission: 'contents:read' },
        { route: 'POST /a/{y}', permission: 'contents:write' },
        { route: 'GET /a/{x}', permission: 'issues:read' },
      ],
      { lines: [3, 5, 7, 9] },
    );
    expect(errors).toEqual([
      {
        index: 3,
        pattern: 'GET /a/{x}',
        line: 9,
        message: 'conflicts with routes[1] "GET /a/{y}" (line 5): both match the same requests',
      },
    ]);
    expect(errors.map(formatRouteError)).toEqual([
      'routes[3] "GET /a/{x}" (line 9): conflicts with routes[1] "GET /a/{y}" (line 5): both match the same requests',
    ]);
  });

  const conflicts: [string, string][] = [
    ['GET /a/{x+}', 'GET /a/{y+}'],
    ['* /a', '* /a'],
    ['GET /', 'GET /'],
    ['DELETE /{a}/x/{b+}', 'DELETE /{c}/x/{d+}'],
  ];
  for (const [first, second] of conflicts) {
    it(`refuses ${first} with ${second}`, () => {
      const errors = errorsFor([
        { route: first, public: true },
        { route: second, public: true },
      ]);
      expect(errors.map((e) => e.message)).toEqual([expect.stringContaining(`conflicts with routes[0]`)]);
    });
  }

  it('does not call different methods, or a param and a catch-all, a conflict', () => {
    expect(
      compile(
        ['GET /a/{x}', 'HEAD /a/{x}', '* /a/{x}', 'GET /a/{x+}', 'GET /a/b', 'GET /a'].map((route) => ({
          route,
          public: true as const,
        })),
      ).ok,
    ).toBe(true);
  });

  it('reports every error of every route in one run, in route order', () => {
    const errors = errorsFor(
      [
        { route: 'GET /ok', permission: 'contents:read' },
        { route: 'GET /a/{b', permission: 'isues:read' },
        { route: 'GET /ok', permission: 'metadata:write' },
        { route: 'get /c', public: true },
      ],
      { implicit: ['x:read'], lines: [1, 2, 3, 4] },
    );
    expect(errors.map(formatRouteError)).toEqual([
      'implicit[0]: unknown feature "x"',
      'routes[1] "GET /a/{b" (line 2): unclosed "{"',
      'routes[1] "GET /a/{b" (line 2): permission: unknown feature "isues"',
      'routes[2] "GET /ok" (line 3): permission: feature "metadata" has no level "write" (declared: read)',
      'routes[2] "GET /ok" (line 3): conflicts with routes[0] "GET /ok" (line 1): both match the same requests',
      'routes[3] "get /c" (line 4): method "get" must be upper case',
    ]);
  });
});

describe('a large table', () => {
  const SERVICES = 1000;
  const routesFor = (i: number): string[] => [
    `GET /svc${i}/items`,
    `GET /svc${i}/items/{id}`,
    `PUT /svc${i}/items/{id}`,
    `GET /svc${i}/items/{id}/files/{path+}`,
    `* /svc${i}/admin/{rest+}`,
  ];
  const patterns = Array.from({ length: SERVICES }, (_, i) => routesFor(i)).flat();

  it('compiles 5,000 routes and matches each to its rule', () => {
    expect(patterns).toHaveLength(5000);
    const m = matcherFor(patterns);
    for (const i of [0, 1, 499, 998, 999]) {
      expect(matchedPattern(m, 'GET', `/svc${i}/items`)).toBe(`GET /svc${i}/items`);
      expect(m.match('GET', `/svc${i}/items/42`)?.params).toEqual({ id: '42' });
      expect(matchedPattern(m, 'PUT', `/svc${i}/items/42`)).toBe(`PUT /svc${i}/items/{id}`);
      expect(m.match('GET', `/svc${i}/items/42/files/a/b`)?.params).toEqual({ id: '42', path: 'a/b' });
      expect(matchedPattern(m, 'DELETE', `/svc${i}/admin/x`)).toBe(`* /svc${i}/admin/{rest+}`);
      expect(m.match('DELETE', `/svc${i}/items/42`)).toBeNull();
    }
    expect(m.match('GET', '/svc1000/items')).toBeNull();
  });

  it('visits a number of trie nodes bounded by the path, not the route count', () => {
    const trie = new RouteTrie();
    patterns.forEach((pattern, index) => {
      const parsed = parsePattern(pattern);
      if (!parsed.ok) throw new Error(parsed.error);
      const rule: RouteRule = {
        index,
        pattern,
        method: parsed.pattern.method,
        line: undefined,
        requirement: { kind: 'public' },
        maxBodyBytes: 0,
        upstreamChecks: [],
      };
      expect(trie.insert(rule, parsed.pattern.segments)).toBeUndefined();
    });
    const visits = (method: string, path: string): number => {
      const stats: MatchStats = { visited: 0 };
      trie.lookup(method, path, stats);
      return stats.visited;
    };
    const segments = (path: string) => path.split('/').length - 1;
    for (const [method, path] of [
      ['GET', '/svc777/items/42/files/a/b/c'],
      ['DELETE', '/svc3/items/42'],
      ['GET', '/svc999/admin/x/y'],
      ['GET', '/nope/a/b/c'],
    ] as const) {
      expect(visits(method, path)).toBeLessThanOrEqual(segments(path) + 1);
    }
  });
});

// Reference: the precedence rule as stated, by brute force over every rule.
interface RefRule {
  readonly index: number;
  readonly method: string;
  readonly segments: readonly { kind: 'literal' | 'param' | 'catch_all'; value: string }[];
}

const KIND_RANK = { literal: 0, param: 1, catch_all: 2 } as const;

function refMatch(rule: RefRule, path: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < rule.segments.length; i++) {
    const s = rule.segments[i];
    const p = path[i];
    if (s === undefined || p === undefined) return null;
    if (s.kind === 'catch_all') {
      params[s.value] = path.slice(i).join('/');
      return params;
    }
    if (s.kind === 'literal' && s.value !== p) return null;
    if (s.kind === 'param') params[s.value] = p;
  }
  return rule.segments.length === path.length ? params : null;
}

function methodRank(ruleMethod: string, method: string): number {
  if (ruleMethod === method) return 0;
  if (method === 'HEAD' && ruleMethod === 'GET') return 1;
  if (ruleMethod === '*') return 2;
  return -1;
}

function refCompare(a: RefRule, b: RefRule, method: string): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ka = a.segments[i]?.kind ?? 'literal';
    const kb = b.segments[i]?.kind ?? 'literal';
    if (ka !== kb) return KIND_RANK[ka] - KIND_RANK[kb];
  }
  return methodRank(a.method, method) - methodRank(b.method, method);
}

function refLookup(rules: readonly RefRule[], method: string, path: readonly string[]) {
  let best: { rule: RefRule; params: Record<string, string> } | null = null;
  for (const rule of rules) {
    if (methodRank(rule.method, method) < 0) continue;
    const params = refMatch(rule, path);
    if (params !== null && (best === null || refCompare(rule, best.rule, method) < 0))
      best = { rule, params };
  }
  return best;
}

describe('property: the trie agrees with a brute-force reading of the precedence rule', () => {
  const literal = fc.constantFrom('a', 'b', 'c');
  const segmentKind = fc.constantFrom('literal', 'literal', 'param', 'catch_all');
  const shape = fc.array(fc.tuple(segmentKind, literal), { maxLength: 4 }).map((raw) => {
    const cut = raw.findIndex(([kind]) => kind === 'catch_all');
    return (cut >= 0 ? raw.slice(0, cut + 1) : raw).map(([kind, value], i) =>
      kind === 'literal' ? { kind, value } : { kind, value: `p${i}` },
    );
  });
  const rule = fc.record({ method: fc.constantFrom('GET', 'POST', 'HEAD', '*'), segments: shape });
  const shapeKey = (r: { method: string; segments: readonly { kind: string; value: string }[] }) =>
    `${r.method} ${r.segments.map((s) => (s.kind === 'literal' ? s.value : s.kind)).join('/')}`;
  const table = fc.uniqueArray(rule, { selector: shapeKey, maxLength: 25 });
  const request = fc.tuple(
    fc.constantFrom('GET', 'POST', 'HEAD', 'PUT'),
    fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 5 }),
  );

  it('returns the same rule and params', () => {
    fc.assert(
      fc.property(table, fc.array(request, { minLength: 1, maxLength: 20 }), (generated, requests) => {
        const refRules: RefRule[] = generated.map((r, index) => ({ index, ...r }));
        const text = (r: RefRule) =>
          `${r.method} /${r.segments.map((s) => (s.kind === 'literal' ? s.value : s.kind === 'param' ? `{${s.value}}` : `{${s.value}+}`)).join('/')}`;
        const m = matcherFor(refRules.map(text));
        for (const [method, segments] of requests) {
          const expected = refLookup(refRules, method, segments);
          const actual = m.match(method, `/${segments.join('/')}`);
          expect(actual?.rule.index ?? null).toBe(expected?.rule.index ?? null);
          if (actual !== null) expect({ ...actual.params }).toEqual(expected?.params);
        }
      }),
      { numRuns: 300 },
    );
  });
});
