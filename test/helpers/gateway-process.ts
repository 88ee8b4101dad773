import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface GatewayProcess {
  readonly url: string;
  readonly adminUrl: string;
  /** The decision listener's base URL, when the config has one. */
  readonly decisionUrl: string | undefined;
  readonly child: ChildProcess;
  /** Every stdout and stderr line so far (JSON log lines and messages). */
  readonly output: string[];
  /** Resolves with the first output line that satisfies `predicate`, already seen or yet to come. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  configPath: string;
}

export interface StartGatewayOptions {
  readonly env?: Record<string, string>;
  readonly args?: readonly string[];
}

/** Writes `configText` to a temp file and starts `patgate serve --config` as a user would. */
export async function startGateway(
  configText: string,
  options: StartGatewayOptions = {},
): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'patgate-test-'));
  const configPath = join(dir, 'patgate.yaml');
  await writeFile(configPath, configText);
  return startGatewayWithFile(configPath, options);
}

export function startGatewayWithFile(
  configPath: string,
  options: StartGatewayOptions = {},
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath, ...(options.args ?? [])], {
    env: {
      PATH: process.env.PATH ?? '',
      PATGATE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      PATGATE_LOG_LEVEL: 'debug',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const watchers = new Set<{ predicate: (line: string) => boolean; resolve: (line: string) => void }>();
  const onLine = (line: string): void => {
    output.push(line);
    for (const w of watchers) {
      if (w.predicate(line)) {
        watchers.delete(w);
        w.resolve(line);
      }
    }
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  const waitForLine = (predicate: (line: string) => boolean, timeoutMs = 10_000): Promise<string> => {
    const seen = output.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const watcher = {
        predicate,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolveLine(line);
        },
      };
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(
          new Error(`no matching output line within ${timeoutMs} ms; output so far:\n${output.join('\n')}`),
        );
      }, timeoutMs);
      watchers.add(watcher);
      void exited.then((code) => {
        if (watchers.delete(watcher)) {
          clearTimeout(timer);
          reject(
            new Error(`gateway exited (${code}) before the expected line; output:\n${output.join('\n')}`),
          );
        }
      });
    });
  };

  return waitForLine((l) => l.includes('"patgate listening"')).then((line) => {
    const info = JSON.parse(line) as { gateway: string; admin: string; decision?: string };
    return {
      url: `http://${info.gateway}`,
      adminUrl: `http://${info.admin}`,
      decisionUrl: info.decision === undefined ? undefined : `http://${info.decision}`,
      child,
      output,
      waitForLine,
      configPath,
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  });
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}
