import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatAcceptedPermissions } from '../../src/grants/permission.js';
import { compileRoutes } from '../../src/routes/compile.js';
import { lintRoutes } from '../../src/routes/lint.js';
import { type LoadedConfig, loadConfigText } from '../../src/routes/load-config.js';
import { runCli } from '../helpers/gateway-process.js';

const EXAMPLE = resolve(import.meta.dirname, '../../config/examples/github-api.yaml');

// GitHub's own documented needs for well-known endpoints, checked against the map
// `routes import` produced (accepted-permissions syntax: `,` = and, `; ` = or).
const KNOWN: { method: string; path: string; needs: string | null; resource: string }[] = [
  { method: 'PATCH', path: '/repos/acme/api/issues/12', needs: 'issues=write', resource: 'repository' },
  { method: 'GET', path: '/repos/acme/api/issues/12', needs: 'issues=read', resource: 'repository' },
  { method: 'GET', path: '/repos/acme/api/pulls', needs: 'pull_requests=read', resource: 'repository' },
  { method: 'POST', path: '/repos/acme/api/pulls', needs: 'pull_requests=write', resource: 'repository' },
  { method: 'PUT', path: '/repos/acme/api/pulls/5/merge', needs: 'contents=write', resource: 'repository' },
  {
    method: 'PUT',
    path: '/repos/acme/api/contents/docs/guide/intro.md',
    needs: 'contents=write',
    resource: 'repository',
  },
  {
    method: 'GET',
    path: '/repos/acme/api/contents/README.md',
    needs: 'contents=read',
    resource: 'repository',
  },
  { method: 'GET', path: '/repos/acme/api/readme', needs: 'contents=read', resource: 'repository' },
  {
    method: 'GET',
    path: '/repos/acme/api/git/ref/heads/feature/x',
    needs: 'contents=read',
    resource: 'repository',
  },
  {
    method: 'GET',
    path: '/repos/acme/api/compare/main...dev',
    needs: 'contents=read',
    resource: 'repository',
  },
  { method: 'GET', path: '/repos/acme/api', needs: 'metadata=read', resource: 'repository' },
  { method: 'PATCH', path: '/repos/acme/api', needs: 'administration=write', resource: 'repository' },
  {
    method: 'POST',
    path: '/repos/acme/api/forks',
    needs: 'administration=write,contents=read',
    resource: 'repository',
  },
  {
    method: 'GET',
    path: '/repos/acme/api/issues/3/timeline',
    needs: 'issues=read; pull_requests=read',
    resource: 'repository',
  },
  {
    method: 'POST',
    path: '/repos/acme/api/issues/3/comments',
    needs: 'issues=write; pull_requests=write',
    resource: 'repository',
  },
  {
    method: 'DELETE',
    path: '/repos/acme/api/hooks/1',
    needs: 'repository_hooks=write',
    resource: 'repository',
  },
  {
    method: 'POST',
    path: '/repos/acme/api/statuses/abc123',
    needs: 'statuses=write',
    resource: 'repository',
  },
  {
    method: 'POST',
    path: '/repos/acme/api/actions/workflows/ci.yml/dispatches',
    needs: 'actions=write',
    resource: 'repository',
  },
  {
    method: 'GET',
    path: '/repos/acme/api/environments/prod/secrets',
    needs: 'environments=read',
    resource: 'repository',
  },
  {
    method: 'GET',
    path: '/repos/acme/api/dependabot/alerts',
    needs: 'vulnerability_alerts=read',
    resource: 'repository',
  },
  // The OpenAPI document itself states these ("Agent tasks" repository permissions).
  {
    method: 'POST',
    path: '/agents/repos/acme/api/tasks',
    needs: 'agent_tasks=write',
    resource: 'repository',
  },
  { method: 'GET', path: '/orgs/acme/members', needs: 'members=read', resource: 'owner' },
  { method: 'PUT', path: '/orgs/acme/memberships/bob', needs: 'members=write', resource: 'owner' },
  { method: 'GET', path: '/orgs/acme', needs: 'metadata=read', resource: 'owner' },
  { method: 'PATCH', path: '/orgs/acme', needs: 'organization_administration=write', resource: 'owner' },
  {
    method: 'GET',
    path: '/orgs/acme/actions/secrets',
    needs: 'organization_secrets=read',
    resource: 'owner',
  },
  { method: 'POST', path: '/orgs/acme/hooks', needs: 'organization_hooks=write', resource: 'owner' },
  { method: 'GET', path: '/user/emails', needs: 'email_addresses=read', resource: 'token_owner' },
  { method: 'PATCH', path: '/user', needs: 'profile=write', resource: 'token_owner' },
  {
    method: 'POST',
    path: '/user/codespaces/cs1/start',
    needs: 'codespaces_lifecycle_admin=write',
    resource: 'token_owner',
  },
  { method: 'GET', path: '/users/octocat/followers', needs: 'followers=read', resource: 'owner' },
  {
    method: 'GET',
    path: '/enterprises/big-corp/teams',
    needs: 'enterprise_administration=read',
    resource: 'owner',
  },
  {
    method: 'POST',
    path: '/repos/acme/tpl/generate',
    needs: 'administration=write,contents=read',
    resource: 'repository',
  },
  { method: 'GET', path: '/search/code', needs: 'metadata=read', resource: 'token_owner' },
  { method: 'GET', path: '/meta', needs: null, resource: 'public' },
  { method: 'GET', path: '/licenses/mit', needs: null, resource: 'public' },
];

// Deny by default: skipped by the rules, or never in the document.
const NO_ROUTE: [string, string][] = [
  ['GET', '/notifications'],
  ['GET', '/user/installations'],
  ['GET', '/user/packages'],
  ['GET', '/repositories/123'],
  ['GET', '/teams/7/members'],
  ['GET', '/app'],
  ['DELETE', '/repos/acme/api/pulls/5'],
];

describe('config/examples/github-api.yaml', () => {
  let loaded: LoadedConfig;
  let text: string;

  beforeAll(() => {
    text = readFileSync(EXAMPLE, 'utf8');
    const result = loadConfigText(text, EXAMPLE);
    if (!result.ok) throw new Error(result.errors.slice(0, 10).join('\n'));
    loaded = result.loaded;
  });

  it('maps GitHub at scale: over a thousand routes, metadata:read implicit', () => {
    expect(loaded.matcher.rules.length).toBeGreaterThan(1000);
    expect(loaded.config.implicit).toEqual(['metadata:read']);
    expect(loaded.config.unmatched).toBe('deny');
  });

  for (const { method, path, needs, resource } of KNOWN) {
    it(`${method} ${path} needs ${needs ?? 'no token'}`, () => {
      const match = loaded.matcher.match(method, path);
      expect(match, 'a route').not.toBeNull();
      const requirement = match?.rule.requirement;
      if (needs === null) {
        expect(requirement?.kind).toBe('public');
        return;
      }
      if (requirement?.kind !== 'permissions')
        throw new Error(`expected permissions, got ${requirement?.kind}`);
      expect(formatAcceptedPermissions(requirement.alternatives)).toBe(needs);
      expect(requirement.resource.kind).toBe(resource);
    });
  }

  for (const [method, path] of NO_ROUTE) {
    it(`${method} ${path} has no route`, () => {
      expect(loaded.matcher.match(method, path)?.rule.pattern ?? null).toBeNull();
    });
  }

  it('binds {username} and {enterprise} to the named account, not the token owner', () => {
    const match = loaded.matcher.match('GET', '/users/octocat/repos');
    const requirement = match?.rule.requirement;
    expect(requirement?.kind === 'permissions' ? requirement.resource : undefined).toEqual({
      kind: 'owner',
      ownerParam: 'username',
    });
  });

  // GitHub checks these itself; the gateway checks only the token's own owner on them
  // (docs/routes.md, "What the upstream must check itself").
  const RESOURCES_OUTSIDE_THE_PATH = [
    'GET /user/blocks/{username}',
    'PUT /user/blocks/{username}',
    'DELETE /user/blocks/{username}',
    'PUT /user/codespaces/secrets/{secret_name}/repositories/{repository_id}',
    'DELETE /user/codespaces/secrets/{secret_name}/repositories/{repository_id}',
    'GET /user/following/{username}',
    'PUT /user/following/{username}',
    'DELETE /user/following/{username}',
  ];

  it('compiles in well under a second; its only lint warnings are resources outside the path', () => {
    const started = performance.now();
    const compiled = compileRoutes({
      routes: loaded.config.routes,
      features: loaded.config.features,
      implicit: loaded.config.implicit,
      defaultMaxBodyBytes: loaded.config.limits.max_body_bytes,
    });
    const elapsed = performance.now() - started;
    if (!compiled.ok) throw new Error('expected the map to compile');
    // Generous bound on a shared machine: it catches a quadratic compiler.
    expect(elapsed).toBeLessThan(1000);
    const warnings = lintRoutes({ matcher: compiled.matcher, features: loaded.config.features });
    expect(warnings.map((w) => `${w.kind} ${w.pattern}`)).toEqual(
      RESOURCES_OUTSIDE_THE_PATH.map((pattern) => `unbound_resource ${pattern}`),
    );
  });

  it('passes `patgate routes check` with no error, warning of resources outside the path only', async () => {
    const result = await runCli(['routes', 'check', '--config', EXAMPLE]);
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines.map((l) => /routes\[\d+\] "([^"]+)": resource outside the check: /.exec(l)?.[1])).toEqual(
      RESOURCES_OUTSIDE_THE_PATH,
    );
    expect(result.stdout).toMatch(/: ok: \d{4} routes, \d+ features, 8 warning\(s\)\n$/);
    expect(result.code).toBe(0);
  });

  it('explains a GitHub endpoint with its rule, line, resource and permissions', async () => {
    const result = await runCli([
      'routes',
      'explain',
      '--config',
      EXAMPLE,
      'PATCH',
      '/repos/acme/api/issues/12',
    ]);
    expect(result.code).toBe(0);
    const lines = text.split('\n');
    const line =
      lines.findIndex((l) => l.includes('"PATCH /repos/{owner}/{repo}/issues/{issue_number}"')) + 1;
    expect(result.stdout).toContain(
      `rule:     PATCH /repos/{owner}/{repo}/issues/{issue_number}  (${EXAMPLE}:${line} `,
    );
    expect(result.stdout).toContain('needs:    requires issues:write on repository {owner}/{repo}');
    expect(result.stdout).toContain('resource: repository acme/api');
    expect(result.stdout).toContain('X-Accepted-Permissions: issues=write');
  });
});
