import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';

/**
 * The README's "Put it in front of your own API" runs as written: the lines between the
 * `day-one:begin` and `day-one:end` markers go to bash, in a scratch directory, with
 * `patgate` standing for the built CLI (what `npm link` puts on the PATH). Only the
 * addresses change (free ports, a private Redis instead of 6379).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/main.js');

let redis: TestRedis;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
  // The README's Redis has persistence; without it patgate rightly warns (redis-warnings.test.ts).
  if (!redis.external) {
    const admin = new Redis(redis.url);
    await admin.config('SET', 'appendonly', 'yes');
    admin.disconnect();
  }
  dir = await mkdtemp(join(tmpdir(), 'patgate-day-one-'));
});

afterAll(async () => {
  // The script stops its own processes; if it failed halfway, its whole group goes.
  if (child?.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function dayOneScript(): Promise<{ script: string; adminUrl: string }> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- day-one:begin -->\n```sh\n([\s\S]*?)```\n<!-- day-one:end -->/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no day-one:begin/day-one:end block');
  const [gateway, adminPort, api] = await Promise.all([freePort(), freePort(), freePort()]);
  const replacements: [string, string][] = [
    ['127.0.0.1:8080', `127.0.0.1:${gateway}`],
    ['127.0.0.1:8081', `127.0.0.1:${adminPort}`],
    ['127.0.0.1:3000', `127.0.0.1:${api}`],
    ['listen(3000,', `listen(${api},`],
    ['redis://127.0.0.1:6379/0', redis.url],
  ];
  let script = block;
  for (const [from, to] of replacements) {
    expect(script, `the README's lines mention ${from}`).toContain(from);
    script = script.split(from).join(to);
  }
  // Never the shared Redis, and never a port the replacements missed.
  expect(script).not.toMatch(/:(6379|8080|8081|3000)\b/);
  return {
    script: `patgate() { node ${JSON.stringify(MAIN)} "$@"; }\n${script}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
  };
}

function run(
  script: string,
  adminUrl: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: dir,
      // The CLI's default admin URL is the README's 8081: point it at the free port instead.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, PATGATE_ADMIN_URL: adminUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}

describe("the README's five-minute path", { timeout: 60_000 }, () => {
  it('fronts an API of ones own: route map checked, a token, an allowed and two refused requests', async () => {
    const { script, adminUrl } = await dayOneScript();
    const { code, stdout, stderr } = await run(script, adminUrl);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const at = (pattern: RegExp): number => {
      const i = lines.findIndex((l) => pattern.test(l));
      expect(i, `a line matching ${pattern} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const checked = at(/^my-api\.yaml: ok: 3 routes, 1 features$/);
    const explained = at(/^ {2}denied: {3}403 with X-Accepted-Permissions: issues=write$/);
    const allowed = at(/^GET \/repos\/acme\/api\/issues for alice$/);
    const refused = at(/"status":403/);
    const anonymous = at(/^401$/);
    expect([checked, explained, allowed, refused, anonymous]).toEqual(
      [checked, explained, allowed, refused, anonymous].sort((a, b) => a - b),
    );
    const problem = JSON.parse(lines[refused] ?? '{}') as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 403, required_permissions: [['issues:write']] });

    // Access lines are written every 100 ms: wait for the two refusals' lines to land.
    let log = '';
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
      log = await readFile(join(dir, 'patgate.log'), 'utf8');
      if (log.includes('"reason_id":"token_missing"') && log.includes('"reason_id":"permission_missing"'))
        break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(log).toContain('"reason_id":"permission_missing"');
    expect(log).toContain('"reason_id":"token_missing"');
    // On Redis, with the admin credential set: nothing to warn about.
    expect(log).not.toContain('"level":40');
  });
});
