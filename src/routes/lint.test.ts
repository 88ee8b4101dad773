import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Level } from '../config/permission.js';
import type { RouteConfig } from '../config/schema.js';
import { compileRoutes } from './compile.js';
import { lintRoutes, type RouteWarning } from './lint.js';

const FEATURES: Readonly<Record<string, readonly Level[]>> = {
  contents: ['read', 'write'],
  issues: ['read', 'write'],
};

function lint(
  routes: readonly RouteConfig[],
  features: Readonly<Record<string, readonly Level[]>> = FEATURES,
  featureLines?: Record<string, number>,
): RouteWarning[] {
  const compiled = compileRoutes({
    routes,
    features,
    implicit: [],
    defaultMaxBodyBytes: 1024,
    lines: routes.map((_, i) => i + 10),
  });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  return lintRoutes({ matcher: compiled.matcher, features, ...(featureLines ? { featureLines } : {}) });
}

const both = (patterns: readonly string[]): RouteConfig[] =>
  patterns.flatMap((route, i) => [{ route, permission: i % 2 === 0 ? 'contents:read' : 'issues:read' }]);

function shadowedPatterns(patterns: readonly string[]): string[] {
  return lint(both(patterns))
    .filter((w) => w.kind === 'shadowed')
    .map((w) => w.pattern);
}

describe('shadowed rules', () => {
  const cases: { routes: string[]; shadowed: string[] }[] = [
    // Depth 1 goes to {y}, depth 2+ to {y}/{z+}: the catch-all never answers.
    { routes: ['GET /a/{x+}', 'GET /a/{y}', 'GET /a/{y}/{z+}'], shadowed: ['GET /a/{x+}'] },
    { routes: ['* /a/{x+}', '* /a/{y}', '* /a/{y}/{z+}'], shadowed: ['* /a/{x+}'] },
    // A depth no rule covers keeps the catch-all alive.
    { routes: ['GET /a/{x+}', 'GET /a/{y}', 'GET /a/{y}/{z}'], shadowed: [] },
    // Method-specific rules never cover `*`: unnamed methods still reach it.
    { routes: ['* /a/{x+}', 'GET /a/{y}', 'GET /a/{y}/{z+}'], shadowed: [] },
    // A `*` rule of a more specific path does cover a GET catch-all.
    { routes: ['GET /a/{x+}', '* /a/{y}', '* /a/{y}/{z+}'], shadowed: ['GET /a/{x+}'] },
    // Literals alone never cover a parameter position.
    { routes: ['GET /a/{x+}', 'GET /a/b', 'GET /a/b/{z+}'], shadowed: [] },
    { routes: ['GET /{x+}', 'GET /{y}', 'GET /{y}/{z}', 'GET /{y}/{z}/{w+}'], shadowed: ['GET /{x+}'] },
    // Other methods do not take GET's requests.
    { routes: ['GET /a/{x+}', 'POST /a/{y}', 'POST /a/{y}/{z+}'], shadowed: [] },
    // HEAD rules do not take GET's requests, and GET still serves HEAD.
    { routes: ['GET /a/{x+}', 'HEAD /a/{y}', 'HEAD /a/{y}/{z+}'], shadowed: [] },
    { routes: ['GET /a/{x}', 'GET /a/b', 'GET /{y}/{z}'], shadowed: [] },
  ];
  for (const { routes, shadowed } of cases) {
    it(`[${routes.join(', ')}] -> [${shadowed.join(', ')}]`, () => {
      expect(shadowedPatterns(routes)).toEqual(shadowed);
    });
  }

  it('names the rules that take the requests, with lines', () => {
    const [warning] = lint(both(['GET /a/{x+}', 'GET /a/{y}', 'GET /a/{y}/{z+}']));
    expect(warning).toEqual({
      kind: 'shadowed',
      index: 0,
      pattern: 'GET /a/{x+}',
      line: 10,
      message:
        'shadowed: every request it matches is taken by more specific rules: routes[1] "GET /a/{y}" (line 11), routes[2] "GET /a/{y}/{z+}" (line 12)',
    });
  });

  it('does not mistake a literal equal to the probe value for coverage', () => {
    expect(shadowedPatterns(['GET /a/{x+}', 'GET /a/~patgate-lint~', 'GET /a/{y}/{z+}'])).toEqual([]);
  });

  // Reference: a rule is shadowed iff no request in a small exhaustive space reaches it.
  it('agrees with brute force over a small request space', () => {
    const segment = fc.constantFrom('a', 'b', '{p}', '{q+}');
    const shape = fc.array(segment, { minLength: 1, maxLength: 3 }).map((segs) => {
      const cut = segs.findIndex((s) => s.endsWith('+}'));
      const kept = cut >= 0 ? segs.slice(0, cut + 1) : segs;
      return `/${kept.map((s, i) => (s.startsWith('{') ? s.replace(/[pq]/, `${s[1]}${i}`) : s)).join('/')}`;
    });
    const rule = fc.tuple(fc.constantFrom('GET', '*'), shape).map(([m, p]) => `${m} ${p}`);
    const shapeKey = (r: string) => r.replace(/\{[a-z]\d(\+?)\}/g, '{$1}');
    fc.assert(
      fc.property(fc.uniqueArray(rule, { selector: shapeKey, maxLength: 8 }), (patterns) => {
        const compiled = compileRoutes({
          routes: patterns.map((route) => ({ route, public: true as const })),
          features: {},
          implicit: [],
          defaultMaxBodyBytes: 1024,
        });
        if (!compiled.ok) return;
        const warned = new Set(lintRoutes({ matcher: compiled.matcher, features: {} }).map((w) => w.index));
        const reached = new Set<number>();
        const values = ['a', 'b', 'c'];
        const paths: string[][] = [[]];
        for (let depth = 1; depth <= 4; depth++) {
          for (const p of paths.filter((x) => x.length === depth - 1)) {
            for (const v of values) paths.push([...p, v]);
          }
        }
        for (const method of ['GET', 'HEAD', 'POST']) {
          for (const p of paths) {
            const m = compiled.matcher.match(method, `/${p.join('/')}`);
            if (m !== null) reached.add(m.rule.index);
          }
        }
        compiled.matcher.rules.forEach((r) => {
          expect(warned.has(r.index)).toBe(!reached.has(r.index));
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('unused features', () => {
  it('warns for each declared feature no route requires, with its line', () => {
    const warnings = lint(
      [
        { route: 'GET /a', permission: 'contents:read' },
        { route: 'GET /b', any_of: [['contents:read'], ['issues:write']] },
      ],
      { contents: ['read'], issues: ['read', 'write'], pages: ['read'], members: ['read'] },
      { pages: 4 },
    );
    expect(warnings).toEqual([
      {
        kind: 'unused_feature',
        index: -1,
        pattern: 'features.pages',
        line: 4,
        message: 'declared but no route requires it',
      },
      {
        kind: 'unused_feature',
        index: -1,
        pattern: 'features.members',
        line: undefined,
        message: 'declared but no route requires it',
      },
    ]);
  });

  it('does not count a public route as a use', () => {
    expect(lint([{ route: 'GET /a', public: true }], { contents: ['read'] }).map((w) => w.pattern)).toEqual([
      'features.contents',
    ]);
  });
});

describe('resources outside the path', () => {
  const unbound = (routes: readonly RouteConfig[]): string[] =>
    lint(routes)
      .filter((w) => w.kind === 'unbound_resource')
      .map((w) => w.pattern);

  const cases: { route: RouteConfig; warns: boolean; why: string }[] = [
    {
      route: { route: 'PUT /user/blocks/{username}', permission: 'contents:write' },
      warns: true,
      why: 'an owner by name',
    },
    {
      route: { route: 'GET /repositories/{id}', permission: 'contents:read' },
      warns: true,
      why: 'a repository by the collection it follows',
    },
    {
      route: { route: 'GET /users/{id}/events', permission: 'contents:read' },
      warns: true,
      why: 'an owner by the collection it follows',
    },
    {
      route: { route: 'GET /x/{repo}', permission: 'contents:read' },
      warns: true,
      why: '{repo} without {owner} binds nothing',
    },
    {
      route: { route: 'GET /x/{repo_owner}/{repo_name}', permission: 'contents:read' },
      warns: true,
      why: 'unconventional names bind nothing',
    },
    {
      route: { route: 'GET /files/{repo+}', permission: 'contents:read' },
      warns: true,
      why: 'a catch-all named like a repository',
    },
    {
      route: { route: 'GET /repos/{owner}/{repo}', permission: 'contents:read' },
      warns: false,
      why: 'bound to the repository',
    },
    {
      route: { route: 'GET /orgs/{org}/members/{username}', permission: 'contents:read' },
      warns: false,
      why: 'bound to the organization',
    },
    {
      route: {
        route: 'GET /p/{account}/{project}',
        permission: 'contents:read',
        resource: { owner: 'account', repo: 'project' },
      },
      warns: false,
      why: 'bound with resource:',
    },
    {
      route: { route: 'GET /users/{username}', public: true },
      warns: false,
      why: 'public: no token is checked',
    },
    {
      route: { route: 'GET /gists/{gist_id}', permission: 'contents:read' },
      warns: false,
      why: 'names no owner or repository',
    },
    {
      route: { route: 'GET /user/keys/{key_id}', permission: 'contents:read' },
      warns: false,
      why: 'the token user’s own keys',
    },
    {
      route: { route: 'GET /user/{item}', permission: 'contents:read' },
      warns: false,
      why: '/user is no collection of users',
    },
    {
      route: { route: 'GET /search/issues', permission: 'contents:read' },
      warns: false,
      why: 'no parameter (the query is the import’s to check)',
    },
  ];
  for (const { route, warns, why } of cases) {
    it(`${warns ? 'warns on' : 'passes'} ${route.route}: ${why}`, () => {
      expect(unbound([route])).toEqual(warns ? [route.route] : []);
    });
  }

  it('names each parameter with the kind it looks like, and says who must check', () => {
    const [warning] = lint([{ route: 'PUT /x/{username}/{repository_id}', permission: 'contents:write' }]);
    expect(warning).toEqual({
      kind: 'unbound_resource',
      index: 0,
      pattern: 'PUT /x/{username}/{repository_id}',
      line: 10,
      message:
        'resource outside the check: binds no resource, but its path takes {username} (an owner?) and ' +
        "{repository_id} (a repository?); the permission is checked on the token's own resource owner, " +
        "so a token for one owner can act on another's unless the upstream checks them itself " +
        '(bind them with "resource:" if the permission is about them)',
    });
  });

  describe('upstream_checks: the operator says the upstream checks these parameters itself', () => {
    it('silences the warning for the parameters it lists', () => {
      expect(
        unbound([
          {
            route: 'PUT /user/blocks/{username}',
            permission: 'contents:write',
            upstream_checks: ['username'],
          },
        ]),
      ).toEqual([]);
    });

    it('still names a parameter it does not list', () => {
      const [warning] = lint([
        {
          route: 'PUT /x/{username}/{repository_id}',
          permission: 'contents:write',
          upstream_checks: ['username'],
        },
      ]);
      expect(warning?.kind).toBe('unbound_resource');
      expect(warning?.message).toContain('its path takes {repository_id} (a repository?);');
      expect(warning?.message).not.toContain('{username}');
    });

    it('lists an ordinary parameter without effect on the other rules', () => {
      expect(
        unbound([
          { route: 'GET /gists/{gist_id}', permission: 'contents:read', upstream_checks: ['gist_id'] },
          { route: 'GET /users/{username}/events', permission: 'contents:read' },
        ]),
      ).toEqual(['GET /users/{username}/events']);
    });
  });

  it('keeps route order, a rule’s shadowed warning first, then features', () => {
    const warnings = lint(
      [
        { route: 'GET /users/{rest+}', permission: 'contents:read' },
        { route: 'GET /users/{user}', permission: 'contents:read' },
        { route: 'GET /users/{user}/{more+}', permission: 'contents:read' },
        { route: 'GET /plain', permission: 'contents:read' },
      ],
      { contents: ['read'], pages: ['read'] },
    );
    expect(warnings.map((w) => `${w.index} ${w.kind}`)).toEqual([
      '0 shadowed',
      '0 unbound_resource',
      '1 unbound_resource',
      '2 unbound_resource',
      '-1 unused_feature',
    ]);
  });
});
