import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatAcceptedPermissions } from '../../src/grants/permission.js';
import { compileRoutes } from '../../src/routes/compile.js';
import { lintRoutes } from '../../src/routes/lint.js';
import { type LoadedConfig, loadConfigText } from '../../src/routes/load-config.js';
import { runCli } from '../helpers/gateway-process.js';

const EXAMPLE = resolve(import.meta.dirname, '../../config/examples/github-api.yaml');

// What GitHub's fine-grained permission table says of well-known endpoints, checked against
// the map `routes import --from github-permissions` produced (accepted-permissions syntax:
// `,` = and, `; ` = or). Endpoints the table flags with additional permissions need every
// listed one together (docs/github-map.md); those not in the table come from
// config/examples/github-table-rules.yaml.
const KNOWN: { method: string; path: string; needs: string | null; resource: string }[] = [
  // Flagged in the table: issues and pull requests share these, read as both together.
  {
    method: 'PATCH',
    path: '/repos/acme/api/issues/12',
    needs: 'issues=write,pull_requests=write',
    resource: 'repository',
  },
  { method: 'GET', path: '/repos/acme/api/issues/12', needs: 'issues=read', resource: 'repository' },
  { method: 'GET', path: '/repos/acme/api/pulls', needs: 'pull_requests=read', resource: 'repository' },
  { method: 'POST', path: '/repos/acme/api/pulls', needs: 'pull_requests=write', resource: 'repository' },
  { method: 'PUT', path: '/repos/acme/api/pulls/5/merge', needs: 'contents=write', resource: 'repository' },
  // Flagged: writing a file may touch a workflow, so contents and workflows together.
  {
    method: 'PUT',
    path: '/repos/acme/api/contents/docs/guide/intro.md',
    needs: 'contents=write,workflows=write',
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
  {
    method: 'GET',
    path: '/repos/acme/api/tarball/heads/main',
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
    needs: 'issues=read,pull_requests=read',
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
  // Not in the table; the OpenAPI document states it ("Agent tasks" repository permissions).
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
  { method: 'GET', path: '/user/emails', needs: 'emails=read', resource: 'token_owner' },
  { method: 'PATCH', path: '/user', needs: 'profile=write', resource: 'token_owner' },
  {
    method: 'POST',
    path: '/user/codespaces/cs1/start',
    needs: 'codespaces_lifecycle_admin=write',
    resource: 'token_owner',
  },
  { method: 'GET', path: '/users/octocat/starred', needs: 'starring=read', resource: 'owner' },
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

// Deny by default: not in the table and not mapped by the rules, or never in the document.
const NO_ROUTE: [string, string][] = [
  ['GET', '/notifications'],
  ['GET', '/user/installations'],
  ['GET', '/user/packages'],
  ['GET', '/repositories/123'],
  ['GET', '/enterprises/big-corp/teams'],
  ['GET', '/app'],
  ['DELETE', '/repos/acme/api/pulls/5'],
  // A mid-path branch or ref is one segment: "feature/x" reaches no route.
  ['GET', '/repos/acme/api/branches/feature/x'],
  // Check runs are not in the table; a {ref+} tail on commits would have taken them.
  ['GET', '/repos/acme/api/commits/abc/check-runs'],
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

  it('binds {username} to the named account, not the token owner', () => {
    const match = loaded.matcher.match('GET', '/users/octocat/repos');
    const requirement = match?.rule.requirement;
    expect(requirement?.kind === 'permissions' ? requirement.resource : undefined).toEqual({
      kind: 'owner',
      ownerParam: 'username',
    });
  });

  // GitHub checks these parameters itself, and the map says so (upstream_checks); the lint
  // then has nothing to report (docs/routes.md, "What the upstream must check itself").
  const ACKNOWLEDGED: [string, string[]][] = [
    ['GET /user/blocks/{username}', ['username']],
    ['PUT /user/blocks/{username}', ['username']],
    ['DELETE /user/blocks/{username}', ['username']],
    ['PUT /user/codespaces/secrets/{secret_name}/repositories/{repository_id}', ['repository_id']],
    ['DELETE /user/codespaces/secrets/{secret_name}/repositories/{repository_id}', ['repository_id']],
    ['GET /user/following/{username}', ['username']],
    ['PUT /user/following/{username}', ['username']],
    ['DELETE /user/following/{username}', ['username']],
    ['GET /teams/{team_id}/members/{username}', ['team_id', 'username']],
    ['GET /teams/{team_id}', ['team_id']],
  ];

  it('acknowledges the parameters GitHub checks itself on the routes that take them', () => {
    for (const [pattern, names] of ACKNOWLEDGED) {
      const rule = loaded.matcher.rules.find((r) => r.pattern === pattern);
      expect(rule?.upstreamChecks, pattern).toEqual(names);
    }
    const acknowledged = loaded.matcher.rules
      .filter((r) => r.upstreamChecks.length > 0)
      .map((r) => r.pattern);
    // Only the user's own lists, a numeric repository id and the legacy team-by-id endpoints.
    for (const pattern of acknowledged) {
      expect(pattern).toMatch(
        /^[A-Z]+ \/(user\/(blocks|following)\/\{username\}|user\/codespaces\/secrets\/\{secret_name\}\/repositories\/\{repository_id\}|teams\/\{team_id\})/,
      );
    }
    expect(acknowledged.length).toBe(24);
  });

  it('compiles in well under a second, with no lint warning at all', () => {
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
    expect(lintRoutes({ matcher: compiled.matcher, features: loaded.config.features })).toEqual([]);
  });

  it('passes `patgate routes check --strict` clean', async () => {
    const result = await runCli(['routes', 'check', '--strict', '--config', EXAMPLE]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/: ok: \d{4} routes, \d+ features\n$/);
    expect(result.code).toBe(0);
  });

  it('would warn without the acknowledgements: the lint still sees those parameters', () => {
    const stripped = text.replace(/^ {4}upstream_checks: .*\n/gm, '');
    expect(stripped).not.toContain('upstream_checks');
    const result = loadConfigText(stripped, EXAMPLE);
    if (!result.ok) throw new Error(result.errors.slice(0, 5).join('\n'));
    const warned = lintRoutes({ matcher: result.loaded.matcher, features: result.loaded.config.features });
    expect(warned.map((w) => w.kind)).toEqual(Array(warned.length).fill('unbound_resource'));
    expect(warned.map((w) => w.pattern)).toEqual(
      expect.arrayContaining(['PUT /user/blocks/{username}', 'GET /teams/{team_id}/members/{username}']),
    );
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
    expect(result.stdout).toContain(
      'needs:    requires issues:write and pull_requests:write on repository {owner}/{repo}',
    );
    expect(result.stdout).toContain('resource: repository acme/api');
    expect(result.stdout).toContain('X-Accepted-Permissions: issues=write,pull_requests=write');
  });
});
