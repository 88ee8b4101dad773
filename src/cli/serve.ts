import { adminCredentialWeakness } from '../admin/admin-credential.js';
import { clusterRole } from '../app/cluster.js';
import { isLoopbackListen, ListenError } from '../app/listen.js';
import { warnAboutRedis } from '../app/redis-warnings.js';
import { type Runtime, redisOptionsOf, startRuntime } from '../app/runtime.js';
import { createLogger, type Logger, parseLogLevel } from '../observability/logger.js';
import type { LoadedConfig } from '../routes/load-config.js';
import { readConfigFile } from './config-file.js';

/** A reason not to start: one line on stderr, exit code 2, no stack trace. */
function refuse(line: string): number {
  process.stderr.write(`patgate: ${line}\n`);
  return 2;
}

/**
 * `patgate serve --config FILE`: runs until SIGTERM/SIGINT; SIGHUP reloads the route map.
 * Anything that stops startup (the file, the admin credential, an address) is one line and
 * exit code 2.
 */
export async function serve(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let logger: Logger;
  try {
    logger = createLogger(parseLogLevel(env.PATGATE_LOG_LEVEL));
  } catch (error) {
    return refuse((error as Error).message);
  }
  const loadedResult = await readConfigFile(configPath, env);
  if (!loadedResult.ok) {
    const [only] = loadedResult.errors;
    if (loadedResult.unreadable && only !== undefined) return refuse(only);
    process.stderr.write(
      `patgate: invalid config, not starting:\n${loadedResult.errors.map((e) => `  ${e}`).join('\n')}\n`,
    );
    return 2;
  }
  const { loaded, overrides } = loadedResult;
  const adminToken = env.PATGATE_ADMIN_TOKEN || undefined;
  const weakness = adminCredentialWeakness(adminToken);
  if (weakness !== null) return refuse(weakness);
  // `workers: N`: this process forks N workers and serves nothing itself, or it is one of them.
  const role = await clusterRole(loaded.config, env);
  if (role.kind === 'refused') return refuse(role.reason);
  const worker = role.kind === 'worker' ? role.worker : undefined;
  if (worker === undefined) warnOnce(logger, loaded, adminToken);
  else logger = worker.bindLogger(logger);
  if (role.kind === 'primary') {
    warnAboutStore(logger, loaded);
    return role.run({ logger, graceMs: loaded.config.shutdown_grace_ms });
  }

  let runtime: Runtime;
  try {
    runtime = await startRuntime({
      loaded,
      logger,
      adminToken,
      shareMetrics: worker?.shareMetrics,
      shareReload: worker?.shareReload,
      // The same read as at startup, with the same overrides: SIGHUP and POST /v1/admin/reload.
      readConfig: () => readConfigFile(configPath, env),
    });
  } catch (error) {
    if (error instanceof ListenError) {
      logger.flush();
      return refuse(
        error.key === undefined
          ? `${keyOf(loaded.config, error.address) ?? 'listen'} ${error.message}`
          : error.message,
      );
    }
    throw error;
  }
  const listening = {
    gateway: runtime.gatewayAddress,
    admin: runtime.adminAddress,
    ...(runtime.decisionAddress === undefined ? {} : { decision: runtime.decisionAddress }),
    routes: loaded.matcher.rules.length,
    ...(Object.keys(overrides).length === 0 ? {} : { overrides }),
  };
  // A worker's primary says it, once every worker listens.
  if (worker === undefined) {
    logger.info(listening, 'patgate listening');
    warnAboutStore(logger, loaded);
  } else worker.listening(listening);

  // `Runtime.reload` applies one reload at a time, in signal order, and logs the outcome.
  process.on('SIGHUP', () => {
    runtime
      .reload()
      .catch((error: unknown) =>
        logger.error({ err: error }, 'route reload failed; keeping the current map'),
      );
  });

  const grace = loaded.config.shutdown_grace_ms;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      // Said once the listeners are closing and /readyz says draining, so that whoever reads
      // the line can count on both.
      const closing = runtime.close(grace);
      // A close that never ends (a store call no timeout covers) must not outlive the grace
      // period by much: the orchestrator would have to SIGKILL, and say less about why.
      setTimeout(() => {
        logger.error(
          { grace_ms: grace },
          `shutdown did not finish ${SHUTDOWN_MARGIN_MS} ms past the grace period; exiting`,
        );
        logger.flush();
        process.exit(1);
      }, grace + SHUTDOWN_MARGIN_MS).unref();
      logger.info({ signal, grace_ms: grace }, 'shutting down: draining in-flight requests');
      closing.then(
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

/** How long past `shutdown_grace_ms` a shutdown may take before the process exits anyway. */
const SHUTDOWN_MARGIN_MS = 10_000;

/**
 * What works but should not stay that way, said once at startup with what to do about it.
 * (The in-memory store is warned about where it is built, in `app/runtime.ts`.)
 */
function warnOnce(logger: Logger, loaded: LoadedConfig, adminToken: string | undefined): void {
  if (adminToken === undefined) {
    logger.warn(
      'PATGATE_ADMIN_TOKEN is not set: only org admins, with their own tokens, can call /v1; set it to a long random secret (openssl rand -base64 33) to manage tokens as the site admin',
    );
  }
  const admin = loaded.config.admin.listen;
  if (!isLoopbackListen(admin)) {
    logger.warn(
      { admin_listen: admin },
      'admin.listen is not a loopback address: the admin API and /metrics are reachable from the network; keep that address on a private network or behind a firewall, or listen on 127.0.0.1',
    );
  }
}

/** A Redis that would lose grants (no persistence, eviction): read beside startup, said once. */
function warnAboutStore(logger: Logger, loaded: LoadedConfig): void {
  const { store } = loaded.config;
  if (store.redis_url === undefined) return;
  void warnAboutRedis({
    url: store.redis_url,
    ...redisOptionsOf(loaded),
    timeoutMs: store.command_timeout_ms,
    logger,
  });
}

/** The config key (`listen`, `admin.listen`, ...) whose value is `address`, for a bind error. */
function keyOf(config: unknown, address: string, prefix = ''): string | undefined {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return undefined;
  for (const [key, value] of Object.entries(config)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (key === 'listen' && value === address) return path;
    const nested = keyOf(value, address, path);
    if (nested !== undefined) return nested;
  }
  return undefined;
}
