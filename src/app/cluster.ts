import { availableParallelism } from 'node:os';
import pino from 'pino';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger, parseLogLevel } from '../observability/logger.js';
import { WORKER_ENV } from './cluster-messages.js';
import type { ClusterWorker } from './cluster-worker.js';

/** `workers` as a number: `auto` is one per CPU this process may run on. */
export function workerCount(setting: Config['workers']): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** What Linux writes to a pipe in one piece, never interleaved with another process's write. */
const PIPE_BUF = 4096;

/**
 * `logger`, writing to a stdout that N processes share (docs/operations.md, "Every core"): each
 * write holds whole lines and at most PIPE_BUF bytes, so that a log collector reading the pipe
 * never gets one worker's line cut by another's. `bindings` are on every line.
 */
export function sharedStdoutLogger(logger: Logger, bindings: Record<string, unknown> = {}): Logger {
  const destination = pino.destination({ dest: 1, sync: false, maxWrite: PIPE_BUF });
  return createLogger(parseLogLevel(logger.level), destination).child(bindings);
}

export interface PrimaryRunOptions {
  readonly logger: Logger;
  readonly graceMs: number;
}

/**
 * What this `patgate serve` process is under `workers`: one process, the primary of N workers,
 * one of those workers, or a config that cannot run as N workers (the reason, one line).
 */
export type ClusterRole =
  | { readonly kind: 'single' }
  | { readonly kind: 'primary'; readonly workers: number; run(options: PrimaryRunOptions): Promise<number> }
  | { readonly kind: 'worker'; readonly worker: ClusterWorker }
  | { readonly kind: 'refused'; readonly reason: string };

const SINGLE: ClusterRole = { kind: 'single' };

/**
 * A worker is a process the primary forked (node:cluster, with `PATGATE_WORKER` set), whatever
 * its config file says by now. One process (`workers: 1`) loads no cluster code at all.
 */
export async function clusterRole(config: Config, env: NodeJS.ProcessEnv): Promise<ClusterRole> {
  const slot = Number(env[WORKER_ENV]);
  if (Number.isInteger(slot) && slot > 0 && process.send !== undefined) {
    const { joinCluster } = await import('./cluster-worker.js');
    const worker = joinCluster(slot);
    if (worker !== null) return { kind: 'worker', worker };
  }
  const workers = workerCount(config.workers);
  if (workers === 1) return SINGLE;
  const setting = config.workers === 'auto' ? `auto (${workers})` : String(workers);
  // Each worker would hold its own in-memory store: a token created through one would be
  // unknown to the others, and a revocation would reach one worker in N.
  if (config.store.redis_url === undefined) {
    return {
      kind: 'refused',
      reason: `workers: ${setting} needs store.redis_url (or PATGATE_REDIS_URL): the in-memory store cannot be shared across workers`,
    };
  }
  const { isClusterPrimary, runPrimary } = await import('./cluster-primary.js');
  if (!isClusterPrimary()) {
    return {
      kind: 'refused',
      reason: `workers: ${setting}: this process is itself a cluster worker (a process manager's cluster mode?); set workers: 1 and let the manager fork`,
    };
  }
  return { kind: 'primary', workers, run: (options) => runPrimary({ ...options, workers }) };
}
