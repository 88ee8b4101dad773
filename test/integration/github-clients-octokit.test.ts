import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GithubClientsStack, startGithubClientsStack } from '../helpers/github-clients-stack.js';
import type { GithubRecordedRequest } from '../helpers/github-upstream.js';
import { admin, type CreatedToken, createToken } from '../helpers/stack.js';

/*
 * Issue 13, "Real GitHub clients work unmodified": @octokit/rest exactly as its README
 * shows it (`new Octokit({ auth, baseUrl })`, no hooks, no custom fetch) through the
 * gateway process, in front of a GitHub-shaped upstream, with `compat: github`.
 */

const ORG_REPOS = ['api', 'web', 'docs', 'infra', 'mobile'];
const GUIDE = 'docs/guide/README.md';
const GUIDE_TEXT = '# Guide\n\nHow to build the API, in more words than fit on one line of base64.\n';

interface OctokitError {
  name: string;
  status: number;
  message: string;
  response?: { headers: Record<string, string | undefined>; data: unknown };
}

async function refusal(promise: Promise<unknown>): Promise<OctokitError> {
  try {
    await promise;
  } catch (error) {
    return error as OctokitError;
  }
  throw new Error('expected the call to be refused');
}

function sent(stack: GithubClientsStack, method: string, path: string): GithubRecordedRequest[] {
  return stack.upstream.requests.filter((r) => r.method === method && r.url.split('?')[0] === path);
}

describe('@octokit/rest through the gateway (compat: github)', () => {
  let stack: GithubClientsStack;
  let alice: CreatedToken;
  let octokit: Octokit;

  beforeAll(async () => {
    stack = await startGithubClientsStack({
      upstream: { orgs: { acme: ORG_REPOS }, files: { [`acme/api/${GUIDE}`]: GUIDE_TEXT } },
    });
    alice = await createToken(stack.gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'write', contents: 'write', pull_requests: 'read' },
    });
    octokit = new Octokit({ auth: alice.token, baseUrl: stack.origin });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('gets a repository, with the token expiry under GitHub’s header name', async () => {
    const { status, data, headers } = await octokit.repos.get({ owner: 'acme', repo: 'api' });
    expect(status).toBe(200);
    expect(data.full_name).toBe('acme/api');
    const expiry = headers['github-authentication-token-expiration'];
    expect(typeof expiry).toBe('string');
    expect(Math.abs(new Date(String(expiry)).getTime() - new Date(alice.expires_at).getTime())).toBeLessThan(
      1000,
    );

    // Octokit sent `Authorization: token ...`; the upstream got the identity, never the token.
    const [forwarded] = sent(stack, 'GET', '/repos/acme/api').slice(-1);
    expect(forwarded?.headers.authorization).toBeUndefined();
    expect(forwarded?.headers['x-patgate-user']).toBe('alice');
  });

  it('creates and lists issues', async () => {
    const created = await octokit.issues.create({ owner: 'acme', repo: 'api', title: 'Flaky test' });
    expect(created.status).toBe(201);
    expect(created.data.title).toBe('Flaky test');
    expect(created.data.user?.login).toBe('alice');

    const listed = await octokit.issues.listForRepo({ owner: 'acme', repo: 'api' });
    expect(listed.status).toBe(200);
    expect(listed.data.map((i) => i.title)).toContain('Flaky test');
  });

  it('lists pull requests', async () => {
    const { status, data } = await octokit.pulls.list({ owner: 'acme', repo: 'api' });
    expect(status).toBe(200);
    expect(data).toEqual([]);
  });

  it('gets and puts a nested file, the path sent with %2F as Octokit encodes it', async () => {
    const got = await octokit.repos.getContent({ owner: 'acme', repo: 'api', path: GUIDE });
    expect(got.status).toBe(200);
    const file = got.data as { type: string; path: string; sha: string; content: string };
    expect(file.type).toBe('file');
    expect(file.path).toBe(GUIDE);
    expect(Buffer.from(file.content, 'base64').toString('utf8')).toBe(GUIDE_TEXT);
    // Authorized and forwarded byte for byte; the upstream decodes it, as GitHub does.
    expect(sent(stack, 'GET', '/repos/acme/api/contents/docs%2Fguide%2FREADME.md')).toHaveLength(1);

    const updated = `${GUIDE_TEXT}\nA second section.\n`;
    const put = await octokit.repos.createOrUpdateFileContents({
      owner: 'acme',
      repo: 'api',
      path: GUIDE,
      message: 'Extend the guide',
      content: Buffer.from(updated).toString('base64'),
      sha: file.sha,
    });
    expect(put.status).toBe(200);
    expect(put.data.content?.path).toBe(GUIDE);
    expect(stack.upstream.files.get(`acme/api/${GUIDE}`)).toBe(updated);
    expect(sent(stack, 'PUT', '/repos/acme/api/contents/docs%2Fguide%2FREADME.md')).toHaveLength(1);
  });

  it("paginates an org's repositories by following Link headers back through the gateway", async () => {
    const before = sent(stack, 'GET', '/orgs/acme/repos').length;
    const repos = await octokit.paginate(octokit.repos.listForOrg, { org: 'acme', per_page: 2 });
    expect(repos.map((r) => r.name)).toEqual(ORG_REPOS);
    const pages = sent(stack, 'GET', '/orgs/acme/repos').slice(before);
    expect(pages.map((r) => new URL(r.url, 'http://x').searchParams.get('page'))).toEqual([null, '2', '3']);
    // Every page came through the gateway: the identity header is on each of them.
    for (const page of pages) expect(page.headers['x-patgate-user']).toBe('alice');
  });

  it('surfaces a missing permission as a RequestError 403 naming pull_requests', async () => {
    const error = await refusal(
      octokit.pulls.create({ owner: 'acme', repo: 'api', title: 'x', head: 'feature', base: 'main' }),
    );
    expect(error.name).toBe('HttpError');
    expect(error.status).toBe(403);
    expect(error.message).toContain('pull_requests');
    expect(error.response?.headers['x-accepted-github-permissions']).toBe('pull_requests=write');
    expect(error.response?.data).toMatchObject({
      message: expect.any(String),
      documentation_url: expect.any(String),
    });
    expect(sent(stack, 'POST', '/repos/acme/api/pulls')).toHaveLength(0);
  });

  it('answers 404 for a repository outside the token', async () => {
    const error = await refusal(octokit.repos.get({ owner: 'acme', repo: 'web' }));
    expect(error.status).toBe(404);
    expect(sent(stack, 'GET', '/repos/acme/web')).toHaveLength(0);
  });

  it('answers 401 saying "revoked" for a revoked token', async () => {
    const doomed = await createToken(stack.gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read' },
    });
    const client = new Octokit({ auth: doomed.token, baseUrl: stack.origin });
    expect((await client.issues.listForRepo({ owner: 'acme', repo: 'api' })).status).toBe(200);
    expect((await admin(stack.gateway.adminUrl, 'DELETE', `/v1/tokens/${doomed.id}`)).status).toBe(200);

    const error = await refusal(client.issues.listForRepo({ owner: 'acme', repo: 'api' }));
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/revoked/);
  });
});
