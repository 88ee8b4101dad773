import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { runCli, TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';

/** The CLI a new operator meets first: its version, its help, and its refusals before any call. */
const ROOT = resolve(import.meta.dirname, '../..');
/** Nothing listens here: a command that got as far as calling would say it cannot reach it. */
const NOWHERE = 'http://127.0.0.1:1';

function commandsOf(command: Command, prefix: string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [{ path, command: sub }, ...commandsOf(sub, path)];
  });
}

describe('patgate --version', () => {
  it("prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(await readFile(resolve(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const { code, stdout, stderr } = await runCli([flag]);
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });
});

describe('help text', { timeout: 30_000 }, () => {
  it('every command says what it does, and every option and argument too', () => {
    const all = commandsOf(buildProgram());
    expect(all.map((c) => c.path.join(' '))).toEqual(
      expect.arrayContaining([
        'serve',
        'routes check',
        'routes explain',
        'token create',
        'org policy',
        'user accept',
      ]),
    );
    for (const { path, command } of all) {
      expect(command.description(), `patgate ${path.join(' ')}`).toMatch(/\w{3}/);
      for (const option of command.options) {
        expect(option.description, `patgate ${path.join(' ')} ${option.flags}`).toMatch(/\w{3}/);
      }
    }
  });

  it('routes check and routes explain print theirs, with the config fallback', async () => {
    const check = await runCli(['routes', 'check', '--help']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^validate a config file/m);
    expect(check.stdout).toContain('$PATGATE_CONFIG');
    const explain = await runCli(['routes', 'help', 'explain']);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/^show which rule a request matches/m);
  });
});

describe('PATGATE_CONFIG', () => {
  it('is the config file of routes check when --config is absent; neither is one line and exit 2', async () => {
    const example = resolve(ROOT, 'config/patgate.example.yaml');
    const checked = await runCli(['routes', 'check'], { PATGATE_CONFIG: example });
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/patgate\.example\.yaml: ok: /);
    const neither = await runCli(['routes', 'check']);
    expect(neither).toEqual({
      code: 2,
      stdout: '',
      stderr: 'patgate: no config file: pass --config FILE or set PATGATE_CONFIG\n',
    });
  });
});

describe('admin commands refuse before calling', () => {
  it('without PATGATE_ADMIN_TOKEN: names it, exit 2', async () => {
    const { code, stdout, stderr } = await runCli(['org', 'members', 'acme', '--admin-url', NOWHERE]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^patgate: set PATGATE_ADMIN_TOKEN /);
    expect(stderr).not.toContain('cannot reach');
  });

  it('token create without --repos: asks for a list or --repos all, exit 2', async () => {
    const { code, stderr } = await runCli(
      [
        'token',
        'create',
        '--user',
        'a',
        '--name',
        'b',
        '--owner',
        'acme',
        '--permission',
        'issues:read',
      ].concat('--admin-url', NOWHERE),
      { PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/a fine-grained token needs --repos: .*\(--repos api,web\), or --repos all/);
    expect(stderr).not.toContain('cannot reach');
    // With --repos all it goes on to call the admin API (here: nobody listening).
    const asked = await runCli(
      ['token', 'create', '--user', 'a', '--name', 'b', '--owner', 'acme', '--repos', 'all'].concat(
        '--permission',
        'issues:read',
        '--admin-url',
        NOWHERE,
      ),
      { PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN },
    );
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain(`cannot reach the admin API at ${NOWHERE}`);
  });
});

describe('output into a reader that leaves early', () => {
  it('`routes explain | head -1` exits 0 without an EPIPE trace', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      [
        resolve(ROOT, 'dist/src/main.js'),
        'routes',
        'explain',
        '--config',
        resolve(ROOT, 'config/examples/github-api.yaml'),
        'GET',
        '/repos/acme/api/issues/3/timeline',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Read one chunk, then close the pipe, as `head -1` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((done) => child.once('close', done));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
