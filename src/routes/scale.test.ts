import { describe, expect, it } from 'vitest';
import { syntheticRouteTable } from '../../test/helpers/synthetic-routes.js';
import { compileRoutes } from './compile.js';
import { lintRoutes } from './lint.js';

// Generous bounds on a shared 2-core machine: these catch a quadratic compiler,
// not a slow one. Measuring is `npm run bench:micro`'s job.
const COMPILE_BUDGET_MS = 1000;

describe('a synthetic 10,000-route map', () => {
  const table = syntheticRouteTable(10_000);

  it('compiles well under a second and answers each request with its own route', () => {
    const started = performance.now();
    const compiled = compileRoutes(table);
    const elapsed = performance.now() - started;
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors.slice(0, 3)));
    expect(compiled.matcher.rules).toHaveLength(10_000);
    expect(elapsed).toBeLessThan(COMPILE_BUDGET_MS);

    const { requests } = table;
    for (let i = 0; i < table.routes.length; i++) {
      const request = requests[i];
      if (request === undefined) throw new Error('missing request');
      expect(compiled.matcher.match(request.method, request.path)?.rule.index).toBe(i);
    }
    for (const miss of requests.slice(table.routes.length)) {
      expect(compiled.matcher.match(miss.method, miss.path)).toBeNull();
    }
  });

  it('lints without warnings in well under a second', () => {
    const compiled = compileRoutes(table);
    if (!compiled.ok) throw new Error('expected ok');
    const started = performance.now();
    expect(lintRoutes({ matcher: compiled.matcher, features: table.features })).toEqual([]);
    expect(performance.now() - started).toBeLessThan(COMPILE_BUDGET_MS);
  });

  it('has exactly the requested size for 20 and 1,000 routes too', () => {
    for (const count of [20, 1000]) {
      const compiled = compileRoutes(syntheticRouteTable(count));
      expect(compiled.ok && compiled.matcher.rules.length).toBe(count);
    }
  });
});
