import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/gateway-process.js';

// The gateway authorizes the resource its route binds in the path, nothing else
// (docs/routes.md, "What the upstream must check itself"). Both route tools must point
// at every rule where a request can name another owner or repository than that one.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'patgate-resources-'));
});

const CONFIG = `upstream:
  url: "http://127.0.0.1:9"
features:
  contents: [read, write]
  blocking: [write]
routes:
  - route: "GET /repos/{owner}/{repo}/contents/{path+}"
    permission: "contents:read"
  - route: "PUT /user/blocks/{username}"
    permission: "blocking:write"
  - route: "GET /repositories/{id}"
    permission: "contents:read"
  - route: "GET /search/code"
    permission: "contents:read"
  - route: "GET /users/{username}"
    permission: "contents:read"
    resource: { owner: username }
  - route: "GET /status/{repo}"
    public: true
implicit: []
`;

const LINT_TAIL =
  'the permission is checked on the token\'s own resource owner, so a token for one owner can act on another\'s unless the upstream checks it itself (bind it with "resource:" if the permission is about it)';

describe('resources outside the path', () => {
  describe('patgate routes check', () => {
    it('warns on each rule that binds no resource but takes an owner or repository in its path, with file and line', async () => {
      const path = join(dir, 'resources.yaml');
      await writeFile(path, CONFIG);
      const result = await runCli(['routes', 'check', '--config', path]);
      expect(result.stderr.split('\n').filter(Boolean)).toEqual([
        `${path}:9: warning: routes[1] "PUT /user/blocks/{username}": resource outside the check: binds no resource, but its path takes {username} (an owner?); ${LINT_TAIL}`,
        `${path}:11: warning: routes[2] "GET /repositories/{id}": resource outside the check: binds no resource, but its path takes {id} (a repository?); ${LINT_TAIL}`,
      ]);
      expect(result.stdout).toBe(`${path}: ok: 6 routes, 2 features, 2 warning(s)\n`);
      expect(result.code).toBe(0);
    });

    it('fails with --strict', async () => {
      const path = join(dir, 'resources-strict.yaml');
      await writeFile(path, CONFIG);
      const result = await runCli(['routes', 'check', '--strict', '--config', path]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('2 warning(s), which --strict makes errors');
    });
  });

  describe('patgate routes import --from openapi (GitHub)', { timeout: 60_000 }, () => {
    let yaml: string;
    let warnings: string[];

    beforeAll(async () => {
      const out = join(dir, 'github-api.yaml');
      const result = await runCli([
        'routes',
        'import',
        '--from',
        'openapi',
        'node_modules/@octokit/openapi/generated/api.github.com.json',
        '--rules',
        'config/examples/github-rules.yaml',
        '--upstream',
        'https://api.github.com',
        '--out',
        out,
      ]);
      if (result.code !== 0) throw new Error(result.stderr);
      yaml = await readFile(out, 'utf8');
      warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning: '));
    }, 60_000);

    const routeLine = (pattern: string): string => {
      const line = yaml.split('\n').find((l) => l.startsWith(`  - route: "${pattern}"`));
      if (line === undefined) throw new Error(`no route "${pattern}"`);
      return line;
    };

    it('warns on GET /search/issues, whose q names repositories (repo:acme/api), and marks it in the YAML', () => {
      expect(warnings).toContain(
        'warning: route "GET /search/issues": resources outside the path: query "q" (a search query: qualifiers such as repo:, org:, user:); the upstream must check it; the gateway checks only the path\'s resource',
      );
      expect(routeLine('GET /search/issues')).toMatch(
        /# search\/issues-and-pull-requests \[rules\.map\[\d+\]\]; resources outside the path: query "q" \(a search query: qualifiers such as repo:, org:, user:\); the upstream must check it$/,
      );
    });

    it('warns on bodies naming another owner: a fork into an organization, a transfer to a new owner', () => {
      expect(routeLine('POST /repos/{owner}/{repo}/forks')).toContain(
        'resources outside the path: body "organization" (an owner?); the upstream must check it',
      );
      expect(routeLine('POST /repos/{owner}/{repo}/transfer')).toContain(
        'resources outside the path: body "new_owner" (an owner?); the upstream must check it',
      );
      expect(
        warnings.some((w) =>
          w.startsWith('warning: route "POST /repos/{owner}/{repo}/forks": resources outside the path:'),
        ),
      ).toBe(true);
      expect(
        warnings.some((w) =>
          w.startsWith('warning: route "POST /repos/{owner}/{repo}/transfer": resources outside the path:'),
        ),
      ).toBe(true);
    });

    it('warns on path parameters that bind nothing, and marks them too', () => {
      expect(warnings).toContain(
        `warning: route "PUT /user/blocks/{username}": resource outside the check: binds no resource, but its path takes {username} (an owner?); ${LINT_TAIL}`,
      );
      expect(routeLine('PUT /user/blocks/{username}')).toContain(
        'resource outside the check: binds no resource',
      );
    });

    it('marks exactly the routes it warns on, and leaves a plain repository route alone', () => {
      const warned = warnings
        .map(
          (w) =>
            /^warning: route "([^"]+)": (?:resources outside the path|resource outside the check)/.exec(
              w,
            )?.[1],
        )
        .filter((p): p is string => p !== undefined);
      const marked = yaml
        .split('\n')
        .filter((l) => / # .*(resources outside the path|resource outside the check)/.test(l))
        .map((l) => /^ {2}- route: "([^"]+)"/.exec(l)?.[1]);
      expect(new Set(marked)).toEqual(new Set(warned));
      expect(warned.length).toBeGreaterThan(50);
      expect(routeLine('GET /repos/{owner}/{repo}/issues/{issue_number}')).not.toMatch(/outside/);
    });
  });
});
