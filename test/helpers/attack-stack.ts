import { expect } from 'vitest';
import { type GatewayProcess, startGateway } from './gateway-process.js';
import { only, type RawResponse, rawRequest, type SendRawOptions, sendRaw } from './raw-socket.js';
import { type CreatedToken, call, createToken, stackConfig } from './stack.js';
import { type RecordedRequest, startTestUpstream, type TestUpstream } from './upstream.js';

/** Routes the attack suites add to the shared test route map. */
const ATTACK_ROUTES = `  - route: "POST /upload/{name}"
    permission: "contents:write"
    max_body_bytes: 1024
  - route: "POST /nobody"
    permission: "contents:write"
    max_body_bytes: 0
  - route: "OPTIONS /preflight/{name}"
    public: true
  - route: "POST /inbox/{name}"
    public: true
  - route: "* /any/{rest+}"
    permission: "contents:read"
`;

export interface AttackStackOptions {
  /** YAML lines for the `limits:` block, each indented by two spaces. */
  readonly limits?: readonly string[];
  readonly trustedProxies?: readonly string[];
  /** YAML lines for the `headers:` block, each indented by two spaces. */
  readonly headers?: readonly string[];
  /** YAML lines for the `upstream:` block besides its url, each indented by two spaces. */
  readonly upstream?: readonly string[];
}

export interface AttackStack {
  readonly gateway: GatewayProcess;
  readonly upstream: TestUpstream;
  readonly url: string;
  /** `Host` value for raw requests. */
  readonly host: string;
  /** acme, every repository: contents and issues write, members read. */
  readonly token: CreatedToken;
  /** acme/api only: contents and issues read. */
  readonly reader: CreatedToken;
  /** Every plaintext token handed out, to check that none appears in a log line. */
  readonly secrets: string[];
  /**
   * Runs `attack`, then proves what reached the upstream meanwhile: a public sentinel request
   * is sent after it and awaited, so anything forwarded because of the attack is recorded
   * before the sentinel is. Returns what the upstream received, sentinel excluded.
   */
  forwardedDuring(attack: () => Promise<void>): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

let sentinels = 0;

export async function startAttackStack(options: AttackStackOptions = {}): Promise<AttackStack> {
  const upstream = await startTestUpstream();
  let config = stackConfig({ store: 'memory', timeoutMs: 2000 }, upstream.url, undefined);
  config = config.replace('\nroutes:\n', `\nroutes:\n${ATTACK_ROUTES}`);
  if (options.upstream !== undefined) {
    config = config.replace(
      '  connect_timeout_ms: 1000\n',
      `  connect_timeout_ms: 1000\n${options.upstream.map((line) => `  ${line}\n`).join('')}`,
    );
  }
  if (options.limits !== undefined && options.limits.length > 0) {
    config += `limits:\n${options.limits.map((line) => `  ${line}\n`).join('')}`;
  }
  if (options.headers !== undefined && options.headers.length > 0) {
    config += `headers:\n${options.headers.map((line) => `  ${line}\n`).join('')}`;
  }
  if (options.trustedProxies !== undefined) {
    config += `trusted_proxies: [${options.trustedProxies.map((c) => JSON.stringify(c)).join(', ')}]\n`;
  }
  const gateway = await startGateway(config);
  const token = await createToken(gateway.adminUrl, {
    user: 'bob',
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { contents: 'write', issues: 'write', members: 'read' },
  });
  const reader = await createToken(gateway.adminUrl, {
    user: 'alice',
    resource_owner: 'acme',
    repositories: ['api'],
    permissions: { contents: 'read', issues: 'read' },
  });
  const url = gateway.url;
  return {
    gateway,
    upstream,
    url,
    host: new URL(url).host,
    token,
    reader,
    secrets: [token.token, reader.token],
    async forwardedDuring(attack) {
      const before = upstream.requests.length;
      await attack();
      const marker = `/status?sentinel=${++sentinels}`;
      const answer = await call(url, 'GET', marker);
      expect(answer.status, 'the sentinel request must get through').toBe(200);
      return upstream.requests.slice(before).filter((r) => r.url !== marker);
    },
    async close() {
      await gateway.stop();
      await upstream.close();
    },
  };
}

/** Asserts a problem+json refusal with this status. */
export function expectProblem(response: RawResponse, status: number, type?: string): Record<string, unknown> {
  expect(response.status, response.text).toBe(status);
  expect(response.header('content-type')).toBe('application/problem+json');
  const body = response.json();
  expect(body.status).toBe(status);
  if (type !== undefined) expect(body.type).toBe(`https://patgate.dev/problems/${type}`);
  return body;
}

/** Sends one raw request and returns its one answer, asserting the upstream saw nothing. */
export async function refusedRaw(
  stack: AttackStack,
  bytes: string | Buffer | readonly (string | Buffer)[],
  options: SendRawOptions = {},
): Promise<{ response: RawResponse; closedByServer: boolean }> {
  let response: RawResponse | undefined;
  let closedByServer = false;
  const forwarded = await stack.forwardedDuring(async () => {
    const exchange = await sendRaw(stack.url, bytes, options);
    response = only(exchange);
    closedByServer = exchange.closedByServer;
  });
  expect(forwarded.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  if (response === undefined) throw new Error('no response');
  return { response, closedByServer };
}

/** The header lines of an ordinary authorized request. */
export function authLines(stack: AttackStack, token: CreatedToken = stack.token): string[] {
  return [`Host: ${stack.host}`, `Authorization: Bearer ${token.token}`];
}

export { rawRequest };

/** Values of one header as the upstream received it. */
export function headerValues(recorded: RecordedRequest, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < recorded.rawHeaders.length; i += 2) {
    if (recorded.rawHeaders[i]?.toLowerCase() === name) out.push(recorded.rawHeaders[i + 1] ?? '');
  }
  return out;
}
