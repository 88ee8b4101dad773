import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../config/schema.js';
import { compileRoutes } from '../routes/compile.js';
import type { RouteMatcher } from '../routes/types.js';
import { readPermissionTable } from './permission-table.js';
import { measureAgreement, samplePathOf } from './table-agreement.js';

const row = (verb: string, requestPath: string, access: string, additional = false) => ({
  verb,
  requestPath,
  access,
  'additional-permissions': additional,
});

const TABLE = (() => {
  const result = readPermissionTable({
    issues: {
      title: 'Issues',
      permissions: [
        row('get', '/repos/{owner}/{repo}/issues', 'read'),
        row('patch', '/repos/{owner}/{repo}/issues/{issue_number}', 'write'),
        row('get', '/repos/{owner}/{repo}/labels', 'read', true),
      ],
    },
    pull_requests: {
      title: 'Pull requests',
      permissions: [row('get', '/repos/{owner}/{repo}/labels', 'read', true)],
    },
    contents: {
      title: 'Contents',
      permissions: [row('get', '/repos/{owner}/{repo}/compare/{base}...{head}', 'read')],
    },
  });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.table;
})();

function matcher(routes: RouteConfig[]): RouteMatcher {
  const compiled = compileRoutes({
    routes,
    features: { issues: ['read', 'write'], pull_requests: ['read', 'write'], contents: ['read', 'write'] },
    implicit: [],
    defaultMaxBodyBytes: 0,
  });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  return compiled.matcher;
}

const EXACT: RouteConfig[] = [
  { route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:read' },
  { route: 'PATCH /repos/{owner}/{repo}/issues/{n}', permission: 'issues:write' },
  { route: 'GET /repos/{owner}/{repo}/labels', permission: ['pull_requests:read', 'issues:read'] },
  { route: 'GET /repos/{owner}/{repo}/compare/{basehead}', permission: 'contents:read' },
];

describe('measureAgreement', () => {
  it('fills every parameter of the template, mixed segments too', () => {
    expect(samplePathOf('/repos/{owner}/{repo}/compare/{base}...{head}')).toBe(
      '/repos/sample-owner/sample-repo/compare/sample-base...sample-head',
    );
  });

  it('counts a map requiring exactly what the table says, whatever the parameter names', () => {
    const report = measureAgreement(TABLE, matcher(EXACT));
    expect(report.unambiguous).toEqual({ total: 3, agree: 3, differ: [], missing: [] });
    expect(report.flagged).toEqual({ total: 1, agree: 1, differ: [], missing: [] });
  });

  it('reports a different level, an added alternative, a public route and a missing route', () => {
    const report = measureAgreement(
      TABLE,
      matcher([
        { route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:write' },
        {
          route: 'PATCH /repos/{owner}/{repo}/issues/{n}',
          any_of: [['issues:write'], ['pull_requests:write']],
        },
        { route: 'GET /repos/{owner}/{repo}/compare/{basehead}', public: true },
      ]),
    );
    expect(report.unambiguous.agree).toBe(0);
    expect(report.unambiguous.differ).toEqual([
      {
        endpoint: 'GET /repos/{owner}/{repo}/issues',
        expected: 'issues:read',
        actual: 'issues:write',
        route: 'GET /repos/{owner}/{repo}/issues',
      },
      {
        endpoint: 'PATCH /repos/{owner}/{repo}/issues/{issue_number}',
        expected: 'issues:write',
        actual: 'issues:write | pull_requests:write',
        route: 'PATCH /repos/{owner}/{repo}/issues/{n}',
      },
    ]);
    expect(report.unambiguous.missing.map((f) => `${f.endpoint}: ${f.actual}`)).toEqual([
      'GET /repos/{owner}/{repo}/compare/{base}...{head}: public',
    ]);
    expect(report.flagged.missing).toEqual([
      {
        endpoint: 'GET /repos/{owner}/{repo}/labels',
        expected: 'at least issues:read + pull_requests:read',
        actual: 'no route',
        route: undefined,
      },
    ]);
  });

  it('reads flagged endpoints as "at least": more or higher is fine, an alternative without one is not', () => {
    const labels = (route: Omit<RouteConfig, 'route'>) =>
      measureAgreement(
        TABLE,
        matcher([...EXACT.slice(0, 2), { route: 'GET /repos/{owner}/{repo}/labels', ...route }]),
      ).flagged.agree;
    expect(labels({ permission: ['issues:write', 'pull_requests:read', 'contents:read'] })).toBe(1);
    expect(labels({ permission: 'issues:read' })).toBe(0);
    expect(labels({ any_of: [['issues:read'], ['pull_requests:read']] })).toBe(0);
    expect(
      labels({
        any_of: [
          ['issues:read', 'pull_requests:read'],
          ['issues:write', 'pull_requests:write'],
        ],
      }),
    ).toBe(1);
  });
});
