import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { request } from 'undici';
import { formatAddress, ListenError, listen } from '../app/listen.js';
import { type Runtime, startRuntime } from '../app/runtime.js';
import { createLogger } from '../observability/logger.js';
import { loadConfigText } from '../routes/load-config.js';
import { MemoryGrantStore } from '../store/memory-store.js';
import { AdminClient } from './admin-client.js';
import { DEMO_PEOPLE, type DemoIdentityProvider, startDemoIdentityProvider } from './demo-oidc.js';
import { createDemoUpstream } from './demo-upstream.js';

/** A port nothing listens on right now (the console's, when the gateway's is 0). */
async function anyFreePort(): Promise<number> {
  const probe = createServer();
  const address = await listen(probe, '127.0.0.1:0');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}

/** The console's sign-in for the demo: the local provider, its client and the demo people. */
interface DemoConsole {
  readonly port: number;
  readonly provider: DemoIdentityProvider;
}

const DEMO_SECRET_ENV = 'PATGATE_DEMO_OIDC_SECRET';

const demoConfig = (upstreamUrl: string, port: number, adminPort: number, console: DemoConsole): string => `
listen: "127.0.0.1:${port}"
console:
  listen: "127.0.0.1:${console.port}"
  public_url: "http://127.0.0.1:${console.port}"
  oidc:
    issuer: "${console.provider.issuer}"
    client_id: "${console.provider.clientId}"
    client_secret_env: ${DEMO_SECRET_ENV}
  site_admins: [alice]
upstream:
  url: "${upstreamUrl}"
  timeout_ms: 5000
admin:
  listen: "127.0.0.1:${adminPort}"
features:
  metadata: { levels: [read], title: "Metadata", description: "Repository names and settings (every token holds it)" }
  contents: { levels: [read, write], title: "Contents", description: "Files, commits and branches" }
  issues: { levels: [read, write], title: "Issues", description: "Issues and their comments" }
  pull_requests: { levels: [read, write], title: "Pull requests", description: "Pull requests and merges" }
  members: { levels: [read, write], title: "Members", description: "The organization's members" }
routes:
  - route: "GET /repos/{owner}/{repo}"
    permission: "metadata:read"
  - route: "GET /repos/{owner}/{repo}/contents/{path+}"
    permission: "contents:read"
  - route: "PUT /repos/{owner}/{repo}/contents/{path+}"
    permission: "contents:write"
  - route: "GET /repos/{owner}/{repo}/issues"
    permission: "issues:read"
  - route: "POST /repos/{owner}/{repo}/issues"
    permission: "issues:write"
  - route: "POST /repos/{owner}/{repo}/pulls/{number}/merge"
    permission: ["pull_requests:write", "contents:write"]
  - route: "GET /repos/{owner}/{repo}/issues/{number}/timeline"
    any_of: [["pull_requests:read", "contents:read"], ["issues:read", "contents:read"]]
  - route: "GET /orgs/{org}/members"
    permission: "members:read"
  - route: "GET /status"
    public: true
implicit: ["metadata:read"]
unmatched: deny
hide_forbidden: true
`;

interface DemoRequest {
  readonly what: string;
  readonly method: string;
  readonly path: string;
  readonly token?: string;
  readonly body?: string;
}

export interface DemoOptions {
  /** Exit after the tour instead of leaving the gateway up for the printed curl lines. */
  readonly once: boolean;
  readonly port: number;
  readonly adminPort: number;
}

/** `patgate demo`: an example upstream, the gateway on the memory store, sample tokens, a tour. */
export async function demo(options: DemoOptions): Promise<number> {
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  const upstream = createDemoUpstream();
  const upstreamAddr = formatAddress(await listen(upstream, '127.0.0.1:0'));
  // The console's URL must be known before the provider registers its callback: beside the
  // gateway's port, or any free one when the gateway's is.
  const consolePort = options.port === 0 ? await anyFreePort() : options.port + 3;
  const provider = await startDemoIdentityProvider(`http://127.0.0.1:${consolePort}/console/callback`);
  process.env[DEMO_SECRET_ENV] = provider.clientSecret;
  const loaded = loadConfigText(
    demoConfig(`http://${upstreamAddr}`, options.port, options.adminPort, { port: consolePort, provider }),
    'demo.yaml',
  );
  if (!loaded.ok) throw new Error(`demo config is invalid: ${loaded.errors.join('; ')}`);
  const adminToken = `demo-admin-${randomBytes(12).toString('hex')}`;
  const logger = createLogger('silent');
  let runtime: Runtime;
  try {
    runtime = await startRuntime({
      loaded: loaded.loaded,
      logger,
      adminToken,
      store: new MemoryGrantStore(),
    });
  } catch (error) {
    upstream.close();
    await provider.close();
    if (!(error instanceof ListenError)) throw error;
    // The console's port follows the gateway's (+3), so --port moves both.
    const option = error.address.endsWith(`:${options.adminPort}`) ? '--admin-port' : '--port';
    const what = error.address.endsWith(`:${consolePort}`)
      ? `the console's address ${error.address} (the gateway's port + 3)`
      : error.address;
    process.stderr.write(
      `patgate: demo ${option}: ${what}: ${error.reason}; pick another port with ${option}, or 0 for any free one\n`,
    );
    return 2;
  }
  const gw = `http://${runtime.gatewayAddress}`;
  const adminUrl = `http://${runtime.adminAddress}`;
  const admin = new AdminClient(adminUrl, adminToken);

  out('patgate demo');
  out(`  upstream (example API): http://${upstreamAddr}`);
  out(`  gateway:                ${gw}`);
  out(`  admin API:              ${adminUrl}   (PATGATE_ADMIN_TOKEN=${adminToken})`);
  out('  store:                  in-memory (demo only)');
  out();

  const issue = async (body: unknown): Promise<{ id: string; token: string }> =>
    (await admin.call('POST', '/v1/tokens', body)) as { id: string; token: string };
  const reader = await issue({
    kind: 'fine_grained',
    user: 'alice',
    name: 'read issues on acme/api',
    resource_owner: 'acme',
    repositories: ['api'],
    permissions: { issues: 'read', contents: 'read' },
    expires_in_days: 30,
  });
  const writer = await issue({
    kind: 'fine_grained',
    user: 'bob',
    name: 'ship code on every acme repo',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { contents: 'write', pull_requests: 'write', members: 'read' },
    expires_in_days: 7,
  });
  const doomed = await issue({
    kind: 'fine_grained',
    user: 'carol',
    name: 'to be revoked',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { issues: 'read' },
    expires_in_days: 1,
  });
  await admin.call('DELETE', `/v1/tokens/${doomed.id}`);
  // acme becomes a registered org with two people; new tokens for it wait for an admin's approval.
  await admin.call('PUT', '/v1/orgs/acme/members/alice', { role: 'admin' });
  await admin.call('PUT', '/v1/orgs/acme/members/bob', { role: 'member' });
  await admin.call('PUT', '/v1/orgs/acme/policy', {
    require_approval: true,
    max_lifetime_days: 90,
    force: true,
  });
  const guess = 'pgt_000000000000000000000000000000000000';
  out('Sample tokens, created through POST /v1/tokens (paste these lines into your shell):');
  out(`export READER=${reader.token}   # alice: acme/api only, issues:read + contents:read`);
  out(
    `export WRITER=${writer.token}   # bob: all acme repos, contents:write + pull_requests:write + members:read`,
  );
  out(`export REVOKED=${doomed.token}  # carol: revoked with DELETE /v1/tokens/${doomed.id}`);
  out(`export GUESS=${guess}    # right shape, wrong checksum`);
  out();

  const tour: DemoRequest[] = [
    { what: 'public route, no token', method: 'GET', path: '/status' },
    {
      what: 'reader lists issues on acme/api',
      method: 'GET',
      path: '/repos/acme/api/issues',
      token: 'READER',
    },
    {
      what: 'reader tries to open an issue (needs issues:write)',
      method: 'POST',
      path: '/repos/acme/api/issues',
      token: 'READER',
      body: '{"title":"hi"}',
    },
    {
      what: 'reader reads a repository outside its set (hide_forbidden: the 404 of a route that does not exist, so the answer does not say the repository is there)',
      method: 'GET',
      path: '/repos/acme/web/issues',
      token: 'READER',
    },
    {
      what: 'metadata is implicit for every fine-grained token',
      method: 'GET',
      path: '/repos/acme/api',
      token: 'READER',
    },
    {
      what: 'writer merges a pull request (needs two permissions)',
      method: 'POST',
      path: '/repos/acme/web/pulls/7/merge',
      token: 'WRITER',
    },
    {
      what: 'timeline accepts any one of two alternatives',
      method: 'GET',
      path: '/repos/acme/web/issues/7/timeline',
      token: 'WRITER',
    },
    { what: 'writer reads org members', method: 'GET', path: '/orgs/acme/members', token: 'WRITER' },
    { what: 'no token', method: 'GET', path: '/repos/acme/api/issues' },
    { what: 'revoked token', method: 'GET', path: '/repos/acme/api/issues', token: 'REVOKED' },
    {
      what: 'a guessed token fails its checksum before any lookup',
      method: 'GET',
      path: '/repos/acme/api/issues',
      token: 'GUESS',
    },
    {
      what: 'no route matches: never reaches the upstream',
      method: 'DELETE',
      path: '/repos/acme/api',
      token: 'WRITER',
    },
    {
      what: 'ambiguous target (encoded slash)',
      method: 'GET',
      path: '/repos/acme/api%2Fissues',
      token: 'READER',
    },
  ];
  const secrets: Record<string, string> = {
    READER: reader.token,
    WRITER: writer.token,
    REVOKED: doomed.token,
    GUESS: guess,
  };
  for (const step of tour) {
    const headers: Record<string, string> = {};
    if (step.token !== undefined) headers.authorization = `Bearer ${secrets[step.token]}`;
    if (step.body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${gw}${step.path}`, {
      method: step.method as 'GET',
      headers,
      ...(step.body === undefined ? {} : { body: step.body }),
    });
    const text = await res.body.text();
    const accepted = res.headers['x-accepted-permissions'];
    let summary = text;
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      summary = json.upstream
        ? `forwarded; upstream saw user=${String(json.patgate_user)}`
        : String(json.detail ?? json.title);
    } catch {
      // Not JSON: show it raw.
    }
    const auth = step.token === undefined ? '' : ` -H "Authorization: Bearer $${step.token}"`;
    const data = step.body === undefined ? '' : ` -H 'content-type: application/json' -d '${step.body}'`;
    out(`# ${step.what}`);
    out(`curl -i -X ${step.method}${auth}${data} '${gw}${step.path}'`);
    out(
      `#   -> ${res.statusCode}${accepted ? ` (X-Accepted-Permissions: ${String(accepted)})` : ''}: ${summary}`,
    );
    out();
  }

  const consoleUrl = `http://127.0.0.1:${consolePort}`;
  out(`Console: ${consoleUrl}/console/`);
  out(`  sign in at the local identity provider (${provider.issuer}) as one of:`);
  for (const [login, who] of Object.entries(DEMO_PEOPLE)) out(`    ${login}: ${who}`);
  out('  acme needs an admin to approve new tokens: make one as bob, approve it as alice.');
  out(
    `  try: ${consoleUrl}/console/tokens/new?name=triage&owner=acme&repositories=api&permissions=issues:write&expires_in_days=7`,
  );
  out();

  if (options.once) {
    await runtime.close(1_000);
    upstream.close();
    await provider.close();
    return 0;
  }
  out('The gateway keeps running so that you can paste the lines above (the export lines first).');
  out('Press Ctrl-C to stop.');
  return new Promise<number>((resolve) => {
    process.once('SIGINT', () => {
      void runtime.close(1_000).then(async () => {
        upstream.close();
        await provider.close();
        resolve(0);
      });
    });
  });
}
