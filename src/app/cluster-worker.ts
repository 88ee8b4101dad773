import cluster from 'node:cluster';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { sharedStdoutLogger } from './cluster.js';
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './cluster-messages.js';
import { ReloadIncompleteError, type ReloadReport, type WorkerReloadOutcome } from './reload-report.js';

/** Longer than the primary's own wait for each worker, so that its error arrives first. */
const GATHER_TIMEOUT_MS = 10_000;
/** Longer than the primary's own wait for each worker's reload. */
const RELOAD_ALL_TIMEOUT_MS = 35_000;

/** A local reload: the file read again and applied in this process (`Runtime.reload`). */
export type LocalReload = () => Promise<ReloadReport>;

/**
 * One worker of `workers: N`: it runs the same runtime as one process, and tells the primary
 * instead of the log that it listens; GET /metrics on its admin listener answers with every
 * worker's metrics, and POST /v1/admin/reload reloads every worker, through the primary
 * (app/cluster-primary.ts).
 */
export interface ClusterWorker {
  /** 1..N: the worker's place among the N, kept by its replacements. */
  readonly slot: number;
  /** Every line this worker logs names it: `worker` (the slot) and `pid`. */
  bindLogger(logger: Logger): Logger;
  /** Hands this worker's metrics to the primary, and answers /metrics with every worker's. */
  shareMetrics(metrics: Metrics): void;
  /**
   * Lets the primary run `local` in this worker, and returns the reload an admin call makes:
   * every worker's, answered with this worker's report (or the first refusal).
   */
  shareReload(local: LocalReload): LocalReload;
  /** Every listener is bound; `fields` is what one process would log as `patgate listening`. */
  listening(fields: Readonly<Record<string, unknown>>): void;
}

type Answer = Extract<PrimaryMessage, { patgate: 'gathered' | 'reloaded-all' }>;

/** This process as a worker of the primary that forked it, or null if node:cluster did not fork it. */
export function joinCluster(slot: number): ClusterWorker | null {
  if (!cluster.isWorker) return null;
  // The channel to the primary does not keep the worker alive: like one process, it exits once
  // it has nothing left to do (drained after SIGTERM, or refused at startup with exit code 2).
  process.channel?.unref();
  const send = (message: WorkerMessage): void => {
    // The channel is gone when the primary is: node:cluster then ends this worker anyway.
    if (process.connected) process.send?.(message, undefined, {}, () => {});
  };
  const primary = new PrimaryChannel(send);
  return {
    slot,
    bindLogger: (logger) => sharedStdoutLogger(logger, { worker: slot, pid: process.pid }),
    shareMetrics: (metrics) => shareMetrics(metrics, primary),
    shareReload: (local) => shareReload(local, slot, primary),
    listening: (fields) => send({ patgate: 'listening', fields }),
  };
}

/**
 * The worker's side of the IPC channel: requests from the primary go to their handlers, answers
 * to the question of the same id, which fails if none comes in time.
 */
class PrimaryChannel {
  readonly send: (message: WorkerMessage) => void;
  readonly #waiting = new Map<number, (answer: Answer) => void>();
  readonly #handlers = new Map<string, (message: PrimaryMessage) => void>();
  #nextId = 0;

  constructor(send: (message: WorkerMessage) => void) {
    this.send = send;
    process.on('message', (message: unknown) => {
      if (!isPrimaryMessage(message)) return;
      if (message.patgate === 'gathered' || message.patgate === 'reloaded-all') {
        const settle = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        settle?.(message);
        return;
      }
      this.#handlers.get(message.patgate)?.(message);
    });
  }

  on(kind: 'collect' | 'reload', handler: (message: PrimaryMessage & { readonly id: number }) => void): void {
    this.#handlers.set(kind, handler);
  }

  /** Sends `ask(id)` and resolves with the primary's answer of the same id. */
  ask(ask: (id: number) => WorkerMessage, what: string, timeoutMs: number): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${what}: the primary did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.send(ask(id));
    });
  }
}

function shareMetrics(metrics: Metrics, primary: PrimaryChannel): void {
  primary.on('collect', ({ id }) => {
    metrics.registry.getMetricsAsJSON().then(
      (own) => primary.send({ patgate: 'collected', id, metrics: own }),
      (error: unknown) => primary.send({ patgate: 'collected', id, error: String(error) }),
    );
  });
  const what = 'metrics of every worker';
  metrics.exposeGathered(async () => {
    const answer = await primary.ask((id) => ({ patgate: 'gather', id }), what, GATHER_TIMEOUT_MS);
    if (answer.patgate === 'gathered' && answer.text !== undefined) return answer.text;
    throw new Error(`${what}: ${answer.error ?? 'no answer'}`);
  });
}

function shareReload(local: LocalReload, slot: number, primary: PrimaryChannel): LocalReload {
  primary.on('reload', ({ id }) => {
    local().then(
      (report) => primary.send({ patgate: 'reloaded', id, report }),
      (error: unknown) => primary.send({ patgate: 'reloaded', id, error: String(error) }),
    );
  });
  const what = 'reload of every worker';
  return async () => {
    const answer = await primary.ask((id) => ({ patgate: 'reload-all', id }), what, RELOAD_ALL_TIMEOUT_MS);
    if (answer.patgate !== 'reloaded-all' || answer.reports === undefined) {
      throw new Error(`${what}: ${answer.error ?? 'no answer'}`);
    }
    return reloadAnswer(answer.reports, slot);
  };
}

/**
 * What the admin call answers for a reload of every worker: this worker's report when all of them
 * applied the file, the refusal when all of them refused it, and otherwise each one's outcome
 * (`ReloadIncompleteError`): a file that changed between two workers' reads, or a worker that
 * exited or did not answer, leaves the workers on different maps, which the caller must know.
 */
export function reloadAnswer(
  reports: readonly { readonly worker: number; readonly report?: ReloadReport; readonly error?: string }[],
  slot: number,
): ReloadReport {
  const outcomes: WorkerReloadOutcome[] = reports.map(({ worker, report, error }) => {
    if (report === undefined) return { worker, outcome: 'failed', error: error ?? 'no report' };
    return report.ok
      ? { worker, outcome: 'reloaded' }
      : { worker, outcome: 'refused', errors: report.errors };
  });
  // All alike and none failed: every worker has a report, this one's included.
  const own = (reports.find((each) => each.worker === slot) ?? reports[0])?.report;
  if (own === undefined || outcomes.some((o) => o.outcome !== outcomes[0]?.outcome)) {
    throw new ReloadIncompleteError(outcomes);
  }
  return own;
}
