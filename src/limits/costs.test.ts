import { describe, expect, it } from 'vitest';
import { CostTable } from './costs.js';

describe('CostTable', () => {
  const table = new CostTable([
    { route: 'POST /repos/{owner}/{repo}/issues', points: 10 },
    { methods: ['POST', 'PUT', 'PATCH', 'DELETE'], points: 5 },
    { methods: ['POST'], points: 99 },
    { route: 'GET /search', points: 0 },
  ]);
  const cases: [string, string, number][] = [
    ['GET', 'GET /repos/{owner}/{repo}', 1],
    ['POST', 'POST /repos/{owner}/{repo}/issues', 10],
    ['POST', 'POST /echo', 5],
    ['DELETE', 'DELETE /x', 5],
    ['GET', 'GET /search', 0],
    ['get', 'GET /y', 1],
  ];
  for (const [method, pattern, points] of cases) {
    it(`${pattern} (${method}) costs ${points}`, () => expect(table.cost(method, pattern)).toBe(points));
  }
  it('takes the first entry naming a method', () => expect(table.cost('POST', 'POST /other')).toBe(5));
  it('knows the dearest request', () => expect(table.max).toBe(99));
  it('names routes that are not in the map', () => {
    expect(table.unknownRoutes(new Set(['POST /repos/{owner}/{repo}/issues']))).toEqual(['GET /search']);
  });
  it('costs 1 without entries', () => expect(new CostTable([]).cost('POST', 'POST /a')).toBe(1));
});
