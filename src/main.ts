#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { demo } from './cli/demo.js';
import { routesCheck, routesExplain } from './cli/routes-commands.js';
import { serve } from './cli/serve.js';
import { registerTokenCommands } from './cli/token-commands.js';

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
    process.exitCode = await serve(o.config);
  });

program
  .command('demo')
  .description('a self-contained tour: example upstream, gateway on the memory store, sample tokens')
  .option('--once', 'exit after the tour')
  .option('--port <port>', 'gateway port (0: any free port)', port, 8080)
  .option('--admin-port <port>', 'admin port (0: any free port)', port, 8081)
  .action(async (o: { once?: boolean; port: number; adminPort: number }) => {
    process.exitCode = await demo({ once: o.once === true, port: o.port, adminPort: o.adminPort });
  });

const routes = program.command('routes').description('check and explain the route map');
routes
  .command('check')
  .requiredOption('-c, --config <file>', 'config file')
  .action(async (o: { config: string }) => {
    process.exitCode = await routesCheck(o.config, out, err);
  });
routes
  .command('explain')
  .requiredOption('-c, --config <file>', 'config file')
  .argument('<method>', 'HTTP method')
  .argument('<path>', 'request target, e.g. /repos/acme/api/issues')
  .action(async (method: string, path: string, o: { config: string }) => {
    process.exitCode = await routesExplain(o.config, method, path, out, err);
  });

registerTokenCommands(program);

await program.parseAsync(process.argv);
