import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GithubClientsStack, startGithubClientsStack } from '../helpers/github-clients-stack.js';
import { admin, type CreatedToken, createToken } from '../helpers/stack.js';
import { writeTestCertificate } from '../helpers/tls-cert.js';

/*
 * Issue 13, "Real GitHub clients work unmodified": the GitHub CLI (Debian's `gh`, installed by
 * .ci/run) against the gateway as a GitHub Enterprise Server host: HTTPS with a self-signed
 * certificate trusted through SSL_CERT_FILE, the API under /api/v3 (`base_path`), the token in
 * GH_ENTERPRISE_TOKEN. `gh api PATH` sends exactly one request, `GET /api/v3/PATH` with
 * `Authorization: token ...`, an empty `Accept` and `Content-Type: application/json;
 * charset=utf-8` (even on a GET); `--paginate` adds `per_page=100` unless the path has one and
 * follows `Link: rel="next"`. It calls no meta or GraphQL endpoint first.
 */

const GH = process.env.PATGATE_TEST_GH ?? 'gh';
const ORG_REPOS = ['api', 'web', 'docs', 'infra', 'mobile'];

interface GhRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('gh through the gateway (GitHub Enterprise layout over TLS)', () => {
  let stack: GithubClientsStack;
  let certFile: string;
  let home: string;
  let reader: CreatedToken;

  /** `gh ARGS` with a private home, trusting only the test certificate, against the gateway. */
  function gh(args: readonly string[], token: string): Promise<GhRun> {
    return new Promise((resolve, reject) => {
      execFile(
        GH,
        args,
        {
          timeout: 20_000,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: home,
            XDG_CONFIG_HOME: join(home, '.config'),
            GH_CONFIG_DIR: join(home, '.config', 'gh'),
            GH_NO_UPDATE_NOTIFIER: '1',
            GH_PROMPT_DISABLED: '1',
            NO_COLOR: '1',
            SSL_CERT_FILE: certFile,
            GH_HOST: stack.host,
            GH_ENTERPRISE_TOKEN: token,
          },
        },
        (error, stdout, stderr) => {
          if (error !== null && typeof error.code !== 'number') {
            reject(new Error(`could not run ${GH} (install it: apt-get install gh): ${error.message}`));
            return;
          }
          resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
        },
      );
    });
  }

  beforeAll(async () => {
    const cert = await writeTestCertificate();
    certFile = cert.certFile;
    home = await mkdtemp(join(tmpdir(), 'patgate-gh-home-'));
    stack = await startGithubClientsStack({
      enterprise: true,
      tls: cert,
      upstream: { orgs: { acme: ORG_REPOS } },
    });
    reader = await createToken(stack.gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read', pull_requests: 'read' },
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('gh api repos/acme/api/issues succeeds', async () => {
    const before = stack.upstream.requests.length;
    const run = await gh(['api', 'repos/acme/api/issues'], reader.token);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([]);

    const forwarded = stack.upstream.requests.slice(before);
    expect(forwarded.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v3/repos/acme/api/issues']);
    expect(forwarded[0]?.headers.authorization).toBeUndefined();
    expect(forwarded[0]?.headers['x-patgate-user']).toBe('alice');
    expect(forwarded[0]?.headers['user-agent']).toMatch(/^GitHub CLI /);
  });

  it('gh api --paginate follows Link headers back through the gateway', async () => {
    const run = await gh(
      ['api', '--paginate', 'orgs/acme/repos?per_page=2', '--jq', '.[].name'],
      reader.token,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(ORG_REPOS);
  });

  it('a refused call exits non-zero naming the missing permission', async () => {
    const before = stack.upstream.requests.length;
    const run = await gh(
      ['api', '-X', 'POST', 'repos/acme/api/pulls', '-f', 'title=x', '-f', 'head=feature', '-f', 'base=main'],
      reader.token,
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('pull_requests:write');
    expect(run.stderr).toContain('HTTP 403');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('a repository outside the token is 404', async () => {
    const run = await gh(['api', 'repos/acme/web'], reader.token);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('HTTP 404');
  });

  it('a revoked token exits non-zero saying revoked', async () => {
    const doomed = await createToken(stack.gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read' },
    });
    expect((await gh(['api', 'repos/acme/api/issues'], doomed.token)).code).toBe(0);
    expect((await admin(stack.gateway.adminUrl, 'DELETE', `/v1/tokens/${doomed.id}`)).status).toBe(200);
    const run = await gh(['api', 'repos/acme/api/issues'], doomed.token);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('revoked');
    expect(run.stderr).toContain('HTTP 401');
  });
});
