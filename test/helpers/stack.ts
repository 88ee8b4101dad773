import { getGlobalDispatcher, request } from 'undici';
import { type GatewayProcess, startGateway, TEST_ADMIN_TOKEN } from './gateway-process.js';
import { startRedisServer, type TestRedis } from './redis-server.js';
import { startTestUpstream, type TestUpstream } from './upstream.js';

export type StoreKind = 'memory' | 'redis';

export const FEATURES = `
features:
  metadata: [read]
  contents: [read, write]
  issues: [read, write]
  pull_requests: [read, write]
  members: [read, write]
  administration: [read, write, admin]
`;

export const ROUTES = `
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
  - route: "POST /echo"
    permission: "contents:write"
  - route: "GET /big/{bytes}"
    permission: "contents:read"
  - route: "GET /slow/{ms}"
    permission: "contents:read"
  - route: "GET /reset"
    permission: "contents:read"
  - route: "POST /repos/{owner}/{repo}/pulls/{number}/merge"
    permission: ["pull_requests:write", "contents:write"]
  - route: "GET /repos/{owner}/{repo}/issues/{number}/timeline"
    any_of: [["pull_requests:read", "contents:read"], ["issues:read", "contents:read"]]
  - route: "GET /orgs/{org}/members"
    permission: "members:read"
  - route: "GET /user/settings"
    permission: "administration:read"
  - route: "GET /status"
    public: true
implicit: ["metadata:read"]
unmatched: deny
`;

export interface StackOptions {
  readonly store: StoreKind;
  /** Shares a Redis started by the caller (restart tests); else a private one is started for redis stacks. */
  readonly redis?: TestRedis;
  readonly upstream?: TestUpstream;
  /** Overrides the upstream URL (a closed port for 502 tests). */
  readonly upstreamUrl?: string;
  readonly timeoutMs?: number;
  readonly hideForbidden?: boolean;
  readonly cacheTtlMs?: number;
  readonly keyPrefix?: string;
  /**
   * `store.command_timeout_ms`; 300 unless told. Suites whose subject is not Redis's timing
   * give more: on a loaded machine a fresh process's first connections and round trips can
   * take longer, and the answer would be a 503 that the suite is not about.
   */
  readonly commandTimeoutMs?: number;
}

export interface Stack {
  readonly gateway: GatewayProcess;
  readonly upstream: TestUpstream;
  readonly redis: TestRedis | undefined;
  readonly configText: string;
  close(): Promise<void>;
}

export function stackConfig(
  options: StackOptions,
  upstreamUrl: string,
  redisUrl: string | undefined,
): string {
  const store =
    redisUrl === undefined
      ? ''
      : `store:\n  redis_url: "${redisUrl}"\n  key_prefix: "${options.keyPrefix ?? 'pgtest:'}"\n  command_timeout_ms: ${options.commandTimeoutMs ?? 300}\n`;
  return `listen: "127.0.0.1:0"
upstream:
  url: "${upstreamUrl}"
  timeout_ms: ${options.timeoutMs ?? 2000}
  connect_timeout_ms: 1000
admin:
  listen: "127.0.0.1:0"
${store}cache:
  ttl_ms: ${options.cacheTtlMs ?? 60000}
  negative_ttl_ms: 500
hide_forbidden: ${options.hideForbidden ?? true}
shutdown_grace_ms: 3000
${FEATURES}${ROUTES}`;
}

/** A real upstream, (for redis stacks) a private redis-server, and `patgate serve`. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const upstream = options.upstream ?? (await startTestUpstream());
  const ownRedis = options.store === 'redis' && options.redis === undefined;
  const redis = options.store === 'redis' ? (options.redis ?? (await startRedisServer())) : undefined;
  const configText = stackConfig(options, options.upstreamUrl ?? upstream.url, redis?.url);
  const gateway = await startGateway(configText);
  return {
    gateway,
    upstream,
    redis,
    configText,
    async close() {
      await gateway.stop();
      if (options.upstream === undefined) await upstream.close();
      if (ownRedis) await redis?.stop();
    },
  };
}

export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string | string[] | undefined>;
}

export async function admin(
  adminUrl: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  credential: string = TEST_ADMIN_TOKEN,
): Promise<AdminAnswer> {
  const res = await request(`${adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${credential}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    headers: res.headers,
  };
}

export interface CreatedToken {
  readonly id: string;
  readonly token: string;
  readonly expires_at: string;
  readonly status: string;
}

export async function createToken(adminUrl: string, body: Record<string, unknown>): Promise<CreatedToken> {
  const answer = await admin(adminUrl, 'POST', '/v1/tokens', {
    kind: 'fine_grained',
    name: 'test',
    expires_in_days: 30,
    ...body,
  });
  if (answer.status !== 201)
    throw new Error(`token create failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as CreatedToken;
}

export interface GatewayAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): Record<string, unknown>;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<GatewayAnswer> {
  // origin + raw path: a URL string would be normalised by the client (dot segments resolved).
  const res = await getGlobalDispatcher().request({
    origin: baseUrl,
    path,
    method: method as 'GET',
    headers: {
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

/** Polls `probe` until it returns true; for events with no signal to await (a token's expiry instant). */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
