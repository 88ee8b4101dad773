import { type GatewayProcess, startGateway } from './gateway-process.js';
import { type GithubUpstream, type GithubUpstreamOptions, startGithubUpstream } from './github-upstream.js';
import type { TestCertificate } from './tls-cert.js';

/**
 * The gateway as an operator would put it in front of a GitHub-shaped API for GitHub's own
 * clients: `compat: github`, and for GitHub Enterprise Server's layout (gh's) `base_path:
 * /api/v3` over TLS, with the upstream serving under `/api/v3` as GHES does.
 */
export const GITHUB_CLIENTS_ROUTES = `
features:
  metadata: [read]
  contents: [read, write]
  issues: [read, write]
  pull_requests: [read, write]
routes:
  - route: "GET /repos/{owner}/{repo}"
    permission: "metadata:read"
  - route: "GET /repos/{owner}/{repo}/issues"
    permission: "issues:read"
  - route: "POST /repos/{owner}/{repo}/issues"
    permission: "issues:write"
  - route: "GET /repos/{owner}/{repo}/pulls"
    permission: "pull_requests:read"
  - route: "POST /repos/{owner}/{repo}/pulls"
    permission: "pull_requests:write"
  - route: "GET /repos/{owner}/{repo}/contents/{path+}"
    permission: "contents:read"
  - route: "PUT /repos/{owner}/{repo}/contents/{path+}"
    permission: "contents:write"
  - route: "GET /orgs/{org}/repos"
    permission: "metadata:read"
implicit: ["metadata:read"]
`;

export interface GithubClientsStackOptions {
  /** GitHub Enterprise Server's layout: the API under `/api/v3`, on the gateway and upstream. */
  readonly enterprise?: boolean;
  readonly tls?: TestCertificate;
  readonly upstream?: GithubUpstreamOptions;
}

export interface GithubClientsStack {
  readonly gateway: GatewayProcess;
  /** The gateway's origin as clients reach it (`https://` with `tls`). */
  readonly origin: string;
  /** `host:port` of the gateway (gh's `GH_HOST`). */
  readonly host: string;
  readonly upstream: GithubUpstream;
  close(): Promise<void>;
}

export function githubClientsConfig(upstreamUrl: string, options: GithubClientsStackOptions): string {
  const enterprise = options.enterprise === true;
  const tls =
    options.tls === undefined
      ? ''
      : `tls:\n  cert_file: "${options.tls.certFile}"\n  key_file: "${options.tls.keyFile}"\n`;
  return `listen: "127.0.0.1:0"
upstream:
  url: "${upstreamUrl}${enterprise ? '/api/v3' : ''}"
  timeout_ms: 5000
admin:
  listen: "127.0.0.1:0"
${tls}${enterprise ? 'base_path: "/api/v3"\n' : ''}compat: github
hide_forbidden: true
shutdown_grace_ms: 2000
${GITHUB_CLIENTS_ROUTES}`;
}

export async function startGithubClientsStack(
  options: GithubClientsStackOptions = {},
): Promise<GithubClientsStack> {
  const upstream = await startGithubUpstream(options.upstream);
  let gateway: GatewayProcess;
  try {
    gateway = await startGateway(githubClientsConfig(upstream.url, options));
  } catch (error) {
    await upstream.close();
    throw error;
  }
  const host = new URL(gateway.url).host;
  return {
    gateway,
    host,
    origin: `${options.tls === undefined ? 'http' : 'https'}://${host}`,
    upstream,
    async close() {
      await gateway.stop();
      await upstream.close();
    },
  };
}
