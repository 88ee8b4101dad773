#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { registerOrgCommands } from './cli/org-commands.js';
import { registerTokenCommands } from './cli/token-commands.js';

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

const program = new Command('patgate')
  .description('reverse-proxy authorization gateway for fine-grained personal access tokens')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the gateway and admin listeners')
  .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
  .action(async (o: { config: string }) => {
    const { serve } = await import('./cli/serve.js');
    process.exitCode = await serve(o.config);
  });

program
  .command('demo')
  .description('a self-contained tour: example upstream, gateway on the memory store, sample tokens')
  .option('--once', 'exit after the tour')
  .option('--port <port>', 'gateway port (0: any free port)', port, 8080)
  .option('--admin-port <port>', 'admin port (0: any free port)', port, 8081)
  .action(async (o: { once?: boolean; port: number; adminPort: number }) => {
    const { demo } = await import('./cli/demo.js');
    process.exitCode = await demo({ once: o.once === true, port: o.port, adminPort: o.adminPort });
  });

const routes = program.command('routes').description('check, explain and import the route map');
routes
  .command('check')
  .requiredOption('-c, --config <file>', 'config file')
  .option('--strict', 'fail on warnings too (shadowed rules, unused features, resources outside the path)')
  .action(async (o: { config: string; strict?: boolean }) => {
    const { routesCheck } = await import('./cli/routes-commands.js');
    process.exitCode = await routesCheck(o.config, out, err, { strict: o.strict === true });
  });
routes
  .command('import')
  .description('turn an OpenAPI 3.0/3.1 document into a route map (YAML)')
  .requiredOption('--from <format>', 'source format: openapi')
  .argument('<file>', 'OpenAPI document, YAML or JSON')
  .option('--rules <file>', 'rules mapping tags, x-github categories and methods to permissions')
  .option('--out <file>', 'write the map here instead of stdout')
  .option('--upstream <url>', 'emit a complete config for this upstream, not a fragment')
  .action(async (file: string, o: { from: string; rules?: string; out?: string; upstream?: string }) => {
    const { routesImport } = await import('./cli/routes-import.js');
    process.exitCode = await routesImport({ ...o, file }, out, err);
  });
routes
  .command('explain')
  .requiredOption('-c, --config <file>', 'config file')
  .argument('<method>', 'HTTP method')
  .argument('<path>', 'request target, e.g. /repos/acme/api/issues')
  .action(async (method: string, path: string, o: { config: string }) => {
    const { routesExplain } = await import('./cli/routes-commands.js');
    process.exitCode = await routesExplain(o.config, method, path, out, err);
  });

registerTokenCommands(program);
registerOrgCommands(program);

await program.parseAsync(process.argv);
