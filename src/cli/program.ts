import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { registerOrgCommands } from './org-commands.js';
import { registerTokenCommands } from './token-commands.js';

// Commands load their modules when they run: the server stack (Hono, ioredis,
// pino, prom-client) and the OpenAPI parser are heavy, and a `patgate token list`
// should not pay for them.

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
}

/** The version in the nearest `package.json` above this module (in `src/` or `dist/src/`). */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
      return typeof pkg.version === 'string' ? pkg.version : 'unknown';
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

const CONFIG_HELP = 'config file, YAML or JSON (default: $PATGATE_CONFIG)';

/** `--config`, else `PATGATE_CONFIG`; neither is one line and exit 2 (nothing has started yet). */
function configPath(given: string | undefined): string {
  const path = given ?? (process.env.PATGATE_CONFIG || undefined);
  if (path === undefined) {
    process.stderr.write('patgate: no config file: pass --config FILE or set PATGATE_CONFIG\n');
    process.exit(2);
  }
  return path;
}

/** Every command `patgate` has, each with its help text. */
export function buildProgram(): Command {
  const program = new Command('patgate')
    .description('reverse-proxy authorization gateway for fine-grained personal access tokens')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError();

  program
    .command('serve')
    .description(
      'run the gateway and admin listeners; PATGATE_LISTEN, PATGATE_UPSTREAM_URL and PATGATE_REDIS_URL override the file',
    )
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (o: { config?: string }) => {
      const path = configPath(o.config);
      const { serve } = await import('./serve.js');
      const code = await serve(path);
      // Every listener and store is closed and the logs are written: nothing a library leaves
      // scheduled (a reconnect timer to a node lost in a failover) may keep the process alive.
      process.exit(code);
    });

  program
    .command('demo')
    .description('a self-contained tour: example upstream, gateway on the memory store, sample tokens')
    .option('--once', 'exit after the tour')
    .option('--port <port>', 'gateway port; the console listens on this + 3 (0: any free ports)', port, 8080)
    .option('--admin-port <port>', 'admin port (0: any free port)', port, 8081)
    .action(async (o: { once?: boolean; port: number; adminPort: number }) => {
      const { demo } = await import('./demo.js');
      process.exitCode = await demo({ once: o.once === true, port: o.port, adminPort: o.adminPort });
    });

  const routes = program.command('routes').description('check, explain and import the route map');
  routes
    .command('check')
    .description(
      'validate a config file: errors with file and line (exit 2), warnings for shadowed rules, unused features and resources outside the path',
    )
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--strict', 'fail on warnings too (shadowed rules, unused features, resources outside the path)')
    .action(async (o: { config?: string; strict?: boolean }) => {
      const path = configPath(o.config);
      const { routesCheck } = await import('./routes-commands.js');
      process.exitCode = await routesCheck(path, out, err, { strict: o.strict === true });
    });
  routes
    .command('import')
    .description(
      "write a route map (YAML) from an OpenAPI 3.0/3.1 document, or from GitHub's fine-grained permission table",
    )
    .requiredOption('--from <format>', 'source format: openapi or github-permissions')
    .argument('<file>', 'the OpenAPI document (YAML or JSON), or the permission table')
    .option('--openapi <file>', "with github-permissions: GitHub's OpenAPI document, for the path shapes")
    .option('--rules <file>', 'rules mapping tags, x-github categories and methods to permissions')
    .option('--out <file>', 'write the map here instead of stdout')
    .option('--upstream <url>', 'emit a complete config for this upstream, not a fragment')
    .action(
      async (
        file: string,
        o: { from: string; openapi?: string; rules?: string; out?: string; upstream?: string },
      ) => {
        const { routesImport } = await import('./routes-import.js');
        process.exitCode = await routesImport({ ...o, file }, out, err);
      },
    );
  routes
    .command('explain')
    .description('show which rule a request matches, what it needs, and how a refusal would look')
    .option('-c, --config <file>', CONFIG_HELP)
    .argument('<method>', 'HTTP method')
    .argument('<path>', 'request target, e.g. /repos/acme/api/issues')
    .action(async (method: string, path: string, o: { config?: string }) => {
      const file = configPath(o.config);
      const { routesExplain } = await import('./routes-commands.js');
      process.exitCode = await routesExplain(file, method, path, out, err);
    });

  const store = program.command('store').description('work on a Redis store directly');
  store
    .command('migrate')
    .description(
      'copy a store between the standalone layout (redis://host:port) and the Cluster layout (redis+cluster://host:port,host:port); idempotent',
    )
    .requiredOption('--from <url>', 'the store to read')
    .requiredOption('--to <url>', 'the store to write')
    .option('--key-prefix <prefix>', 'store.key_prefix of both stores', 'patgate:')
    .option('--dry-run', 'read everything and print the counts; write nothing')
    .action(async (o: { from: string; to: string; keyPrefix: string; dryRun?: boolean }) => {
      const { migrateStore } = await import('./store-migrate.js');
      try {
        const counts = await migrateStore({
          from: o.from,
          to: o.to,
          keyPrefix: o.keyPrefix,
          dryRun: o.dryRun === true,
        });
        const verb = o.dryRun === true ? 'would copy' : 'copied';
        process.stdout.write(`${verb}:\n`);
        for (const [key, value] of Object.entries(counts)) process.stdout.write(`  ${key}: ${value}\n`);
        process.exitCode = 0;
      } catch (err) {
        process.stderr.write(`patgate store migrate: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });

  registerTokenCommands(program);
  registerOrgCommands(program);
  return program;
}
