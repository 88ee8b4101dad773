import { adminCredentialWeakness } from '../admin/admin-credential.js';
import { startRuntime } from '../app/runtime.js';
import { createLogger, parseLogLevel } from '../observability/logger.js';
import { readConfigFile } from './config-file.js';

/** `patgate serve --config FILE`: runs until SIGTERM/SIGINT; SIGHUP reloads the route map. */
export async function serve(configPath: string): Promise<number> {
  const logger = createLogger(parseLogLevel(process.env.PATGATE_LOG_LEVEL));
  const loadedResult = await readConfigFile(configPath);
  if (!loadedResult.ok) {
    process.stderr.write(
      `patgate: invalid config, not starting:\n${loadedResult.errors.map((e) => `  ${e}`).join('\n')}\n`,
    );
    return 2;
  }
  const adminToken = process.env.PATGATE_ADMIN_TOKEN;
  const weakness = adminCredentialWeakness(adminToken);
  if (weakness !== null) {
    process.stderr.write(`patgate: ${weakness}\n`);
    return 2;
  }
  if (adminToken === undefined) {
    logger.warn('PATGATE_ADMIN_TOKEN is not set: only org admins, with their own tokens, can call /v1');
  }
  const runtime = await startRuntime({ loaded: loadedResult.loaded, logger, adminToken });
  logger.info(
    {
      gateway: runtime.gatewayAddress,
      admin: runtime.adminAddress,
      routes: loadedResult.loaded.matcher.rules.length,
    },
    'patgate listening',
  );

  // One reload at a time, in signal order: two overlapping reads of the file must
  // not land out of order and leave the older map in effect.
  let reloads = Promise.resolve();
  process.on('SIGHUP', () => {
    reloads = reloads
      .then(async () => {
        runtime.reloadRoutes(await readConfigFile(configPath));
      })
      .catch((error: unknown) =>
        logger.error({ err: error }, 'route reload failed; keeping the current map'),
      );
  });

  const grace = loadedResult.loaded.config.shutdown_grace_ms;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, grace_ms: grace }, 'shutting down: draining in-flight requests');
      runtime.close(grace).then(
        () => {
          logger.info('stopped');
          logger.flush();
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          logger.flush();
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
