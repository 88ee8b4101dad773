import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../config/schema.js';
import { compileRoutes } from './compile.js';
import { describeRequirement } from './describe.js';
import type { RouteRule } from './types.js';

function ruleFor(route: RouteConfig): RouteRule {
  const result = compileRoutes({
    routes: [route],
    features: { contents: ['read', 'write'], issues: ['read'], pull_requests: ['read'], members: ['read'] },
    implicit: [],
    defaultMaxBodyBytes: 1024,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const rule = result.matcher.rules[0];
  if (rule === undefined) throw new Error('no rule');
  return rule;
}

describe('describeRequirement', () => {
  const cases: [RouteConfig, string][] = [
    [
      { route: 'GET /repos/{owner}/{repo}/contents/{path+}', permission: 'contents:read' },
      'requires contents:read on repository {owner}/{repo}',
    ],
    [
      { route: 'POST /repos/{owner}/{repo}/merge', permission: ['pull_requests:read', 'contents:write'] },
      'requires pull_requests:read and contents:write on repository {owner}/{repo}',
    ],
    [
      {
        route: 'GET /repos/{owner}/{repo}/timeline',
        any_of: [
          ['pull_requests:read', 'contents:read'],
          ['issues:read', 'contents:read'],
        ],
      },
      'any of: (pull_requests:read and contents:read) or (issues:read and contents:read) on repository {owner}/{repo}',
    ],
    [
      { route: 'GET /x/{owner}/{repo}', any_of: [['issues:read'], ['contents:read', 'pull_requests:read']] },
      'any of: issues:read or (contents:read and pull_requests:read) on repository {owner}/{repo}',
    ],
    [
      { route: 'GET /orgs/{org}/members', permission: 'members:read' },
      'requires members:read on owner {org}',
    ],
    [
      { route: 'GET /p/{ns}/{name}', permission: 'contents:read', resource: { owner: 'ns', repo: 'name' } },
      'requires contents:read on repository {ns}/{name}',
    ],
    [
      { route: 'GET /user/issues', permission: 'issues:read' },
      "requires issues:read on the token's resource owner",
    ],
    [{ route: 'GET /status', public: true }, 'public (no token)'],
  ];
  for (const [route, expected] of cases) {
    it(expected, () => {
      expect(describeRequirement(ruleFor(route))).toBe(expected);
    });
  }
});
