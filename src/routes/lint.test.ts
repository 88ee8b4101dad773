import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../config/schema.js';
import type { Level } from '../grants/permission.js';
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
  const compiled = compileRoutes({ routes, features, implicit: [], lines: routes.map((_, i) => i + 10) });
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
