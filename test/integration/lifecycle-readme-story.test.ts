import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';

/**
 * The organizations story in docs/admin-api.md runs exactly as written: the lines between the
 * `story:begin` and `story:end` markers go to bash. Only the addresses change
 * (free ports, a private Redis instead of 6379, files in a temp directory), so
 * that the run touches nothing shared.
 */
const ROOT = resolve(import.meta.dirname, '../..');

let redis: TestRedis;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
  dir = await mkdtemp(join(tmpdir(), 'patgate-story-'));
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

async function storyScript(): Promise<string> {
  const readme = await readFile(join(ROOT, 'docs/admin-api.md'), 'utf8');
  const block = /<!-- story:begin -->\n```sh\n([\s\S]*?)```\n<!-- story:end -->/.exec(readme)?.[1];
  if (block === undefined) throw new Error('docs/admin-api.md has no story:begin/story:end block');
  const [gateway, adminPort, upstream] = await Promise.all([freePort(), freePort(), freePort()]);
  const replacements: [string, string][] = [
    ['127.0.0.1:8080', `127.0.0.1:${gateway}`],
    ['127.0.0.1:8081', `127.0.0.1:${adminPort}`],
    ['127.0.0.1:9000', `127.0.0.1:${upstream}`],
    ['listen(9000,', `listen(${upstream},`],
    ['redis://127.0.0.1:6379/0', redis.url],
    ['/tmp/patgate-story.yaml', join(dir, 'patgate.yaml')],
    ['/tmp/patgate-story.log', join(dir, 'patgate.log')],
  ];
  let script = block;
  for (const [from, to] of replacements) {
    expect(script, `the story mentions ${from}`).toContain(from);
    script = script.split(from).join(to);
  }
  // Never the shared Redis.
  expect(script).not.toContain(':6379');
  return script;
}

function run(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
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

/** Each of `parts` appears in `text`, in this order. */
function expectInOrder(text: string, parts: readonly (string | RegExp)[]): void {
  let from = 0;
  for (const part of parts) {
    const rest = text.slice(from);
    let index: number;
    let length: number;
    if (typeof part === 'string') {
      index = rest.indexOf(part);
      length = part.length;
    } else {
      const match = part.exec(rest);
      index = match === null ? -1 : match.index;
      length = match === null ? 0 : match[0].length;
    }
    expect(index, `${String(part)} after offset ${from} in:\n${text}`).toBeGreaterThanOrEqual(0);
    from += index + length;
  }
}

describe('the organizations story (docs/admin-api.md)', { timeout: 120_000 }, () => {
  it('runs from start to end, and every step answers as the docs say', async () => {
    expect(spawnSync('jq', ['--version']).status, 'the story needs jq (apt-get install jq)').toBe(0);
    const { code, stdout, stderr } = await run(await storyScript());
    expect(code, `stderr:\n${stderr}\nstdout:\n${stdout}`).toBe(0);

    expectInOrder(stdout, [
      // 1-2: members, then carol's policy change.
      'carol is now admin of acme',
      'alice is now member of acme',
      /require_approval:\s+true/,
      /max_lifetime_days:\s+90/,
      // 3: pending.
      '"title":"Token pending approval","status":403',
      // 4: the request, approved.
      /tok_\S+\s+fine_grained\s+alice\s+acme\s+pending/,
      /approved tok_/,
      // 5: it works.
      'hello from the upstream',
      // 6: revoked by the org, refused at once.
      /revoked tok_/,
      '"status":401',
      'revoked by organization acme: CI moved to the bot account',
      // 7: the org's audit, newest first...
      /token\.revoke\s+carol \(org admin\)\s+acme\s+tok_\S+\s+alice\s+CI moved to the bot account/,
      /token\.approve\s+carol \(org admin\)\s+acme\s+tok_\S+\s+alice\s+CI for acme\/api/,
      /token\.create\s+site admin\s+acme\s+tok_\S+\s+alice/,
      /org\.policy\.update\s+carol \(org admin\)\s+acme/,
      /token\.create\s+site admin\s+acme\s+tok_\S+\s+carol/,
      /org\.member\.set\s+site admin\s+acme\s+-\s+alice/,
      /org\.member\.set\s+site admin\s+acme\s+-\s+carol/,
      // ...and the site admin's view of alice's token.
      /\ttoken\.revoke\tcarol\tCI moved to the bot account/,
      /\ttoken\.approve\tcarol\tCI for acme\/api/,
      /\ttoken\.create\tsite admin\t/,
    ]);
    // The audit shows only those events for alice's token, and no secret anywhere in it.
    expect(stdout.match(/\ttoken\.\w+\t/g)).toHaveLength(3);
  });
});
