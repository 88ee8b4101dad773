import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small GitHub-shaped upstream for driving real GitHub clients (Octokit, gh) through the
 * gateway. It answers, with GitHub's JSON shapes:
 * - `GET /repos/{owner}/{repo}`
 * - `GET|POST /repos/{owner}/{repo}/issues`, `GET|POST /repos/{owner}/{repo}/pulls`
 * - `GET|PUT /repos/{owner}/{repo}/contents/{path}`: `{path}` arrives as one segment with `%2F`
 *   (what Octokit sends) or as several; it is decoded here, as GitHub does
 * - `GET /orgs/{org}/repos?per_page=&page=`: paginated with absolute `Link` URLs built from
 *   `X-Forwarded-Proto`/`X-Forwarded-Host` (the gateway's address), so a client follows them
 *   back through the gateway
 * Every path may carry a leading `/api/v3` (GitHub Enterprise Server's API prefix, when the
 * gateway's `upstream.url` carries it); `Link` URLs keep it. Anything else: 404 with GitHub's
 * `{message, documentation_url}`. The acting user is `X-Patgate-User`, as the gateway sets it.
 */
export interface GithubRecordedRequest {
  readonly method: string;
  /** The request-target exactly as received. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface GithubUpstream {
  readonly url: string;
  readonly requests: GithubRecordedRequest[];
  /** Current file contents by `owner/repo/path`. */
  readonly files: Map<string, string>;
  close(): Promise<void>;
}

export interface GithubUpstreamOptions {
  /** Repository names of each org, in listing order. */
  readonly orgs?: Record<string, readonly string[]>;
  /** Initial files by `owner/repo/path`. */
  readonly files?: Record<string, string>;
}

const API_PREFIX = '/api/v3';
const DOCS = 'https://docs.github.com/rest';

interface Issue {
  number: number;
  title: string;
  body: string | null;
  state: 'open';
  user: { login: string };
  pull_request?: { url: string };
}

export async function startGithubUpstream(options: GithubUpstreamOptions = {}): Promise<GithubUpstream> {
  const orgs = options.orgs ?? { acme: ['api', 'web'] };
  const files = new Map(Object.entries(options.files ?? {}));
  const issues = new Map<string, Issue[]>();
  const pulls = new Map<string, Issue[]>();
  const requests: GithubRecordedRequest[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      let answer: Reply;
      try {
        answer = route(req, body);
      } catch (error) {
        answer = {
          status: 500,
          body: { message: `test upstream: ${String(error)}`, documentation_url: DOCS },
        };
      }
      send(res, answer);
    });
  });

  function route(req: IncomingMessage, body: string): Reply {
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    let rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
    const prefix = rawPath === API_PREFIX || rawPath.startsWith(`${API_PREFIX}/`) ? API_PREFIX : '';
    rawPath = rawPath.slice(prefix.length);
    const segments = rawPath.split('/').slice(1);
    const method = req.method ?? 'GET';
    const user = header(req, 'x-patgate-user') ?? 'unknown';

    const [first, owner, repo, kind, ...rest] = segments;
    if (first === 'orgs' && owner !== undefined && repo === 'repos' && kind === undefined) {
      if (method !== 'GET') return NOT_FOUND;
      const names = orgs[owner];
      if (names === undefined) return NOT_FOUND;
      return listOrgRepos(req, owner, names, query, prefix);
    }
    if (first !== 'repos' || owner === undefined || repo === undefined) return NOT_FOUND;
    if (!orgs[owner]?.includes(repo)) return NOT_FOUND;
    const full = `${owner}/${repo}`;

    if (kind === undefined) {
      if (method !== 'GET') return NOT_FOUND;
      return reply(200, repository(owner, repo));
    }
    if ((kind === 'issues' || kind === 'pulls') && rest.length === 0) {
      const store = kind === 'issues' ? issues : pulls;
      const list = store.get(full) ?? [];
      if (method === 'GET') return reply(200, list);
      if (method !== 'POST') return NOT_FOUND;
      const input = JSON.parse(body === '' ? '{}' : body) as { title?: string; body?: string };
      if (typeof input.title !== 'string') {
        return reply(422, { message: 'Validation Failed', documentation_url: DOCS });
      }
      const created: Issue = {
        number: (issues.get(full)?.length ?? 0) + (pulls.get(full)?.length ?? 0) + 1,
        title: input.title,
        body: input.body ?? null,
        state: 'open',
        user: { login: user },
      };
      store.set(full, [...list, created]);
      return reply(201, created);
    }
    if (kind === 'contents' && rest.length > 0) {
      // GitHub reads `docs%2Fguide%2FREADME.md` and `docs/guide/README.md` alike.
      const path = rest.map((s) => decodeURIComponent(s)).join('/');
      const key = `${full}/${path}`;
      if (method === 'GET') {
        const text = files.get(key);
        if (text === undefined) return NOT_FOUND;
        return reply(200, contentItem(full, path, text, true));
      }
      if (method !== 'PUT') return NOT_FOUND;
      const input = JSON.parse(body === '' ? '{}' : body) as {
        message?: string;
        content?: string;
        sha?: string;
      };
      const existing = files.get(key);
      if (typeof input.message !== 'string' || typeof input.content !== 'string') {
        return reply(422, { message: 'Invalid request.', documentation_url: DOCS });
      }
      if (existing !== undefined && input.sha !== blobSha(existing)) {
        return reply(409, {
          message: `${path} does not match ${input.sha ?? ''}`,
          documentation_url: DOCS,
        });
      }
      const text = Buffer.from(input.content, 'base64').toString('utf8');
      files.set(key, text);
      return reply(existing === undefined ? 201 : 200, {
        content: contentItem(full, path, text, false),
        commit: { sha: blobSha(`${key}\n${text}`), message: input.message, author: { name: user } },
      });
    }
    return NOT_FOUND;
  }

  function listOrgRepos(
    req: IncomingMessage,
    org: string,
    names: readonly string[],
    query: URLSearchParams,
    prefix: string,
  ): Reply {
    const perPage = Math.min(Math.max(Number(query.get('per_page') ?? 30) || 30, 1), 100);
    const page = Math.max(Number(query.get('page') ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(names.length / perPage), 1);
    const items = names.slice((page - 1) * perPage, page * perPage).map((n) => repository(org, n));
    // Absolute, at the address the client used: the gateway's, not this server's.
    const proto = header(req, 'x-forwarded-proto') ?? 'http';
    const host = header(req, 'x-forwarded-host') ?? header(req, 'host') ?? '';
    const link = (p: number, rel: string): string =>
      `<${proto}://${host}${prefix}/orgs/${org}/repos?per_page=${perPage}&page=${p}>; rel="${rel}"`;
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return { status: 200, body: items, headers: links.length === 0 ? {} : { link: links.join(', ') } };
  }

  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    files,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

const reply = (status: number, body: unknown): Reply => ({ status, body });

const NOT_FOUND: Reply = reply(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });

function send(res: ServerResponse, { status, body, headers }: Reply): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function repository(owner: string, name: string): Record<string, unknown> {
  return {
    id: idOf(`${owner}/${name}`),
    name,
    full_name: `${owner}/${name}`,
    owner: { login: owner, type: 'Organization' },
    private: true,
    default_branch: 'main',
  };
}

/** Git's blob id of `text`, as GitHub's `sha` for a file. */
function blobSha(text: string): string {
  const data = Buffer.from(text, 'utf8');
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

function contentItem(
  full: string,
  path: string,
  text: string,
  withContent: boolean,
): Record<string, unknown> {
  const data = Buffer.from(text, 'utf8');
  return {
    type: 'file',
    name: path.slice(path.lastIndexOf('/') + 1),
    path,
    sha: blobSha(text),
    size: data.length,
    url: `https://api.github.test/repos/${full}/contents/${path}`,
    // GitHub wraps the base64 at 60 characters.
    ...(withContent
      ? { encoding: 'base64', content: `${data.toString('base64').replace(/.{60}/g, '$&\n')}\n` }
      : {}),
  };
}

function idOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}
