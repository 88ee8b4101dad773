import cluster from 'node:cluster';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { sharedStdoutLogger } from './cluster.js';
import { isPrimaryMessage, type WorkerMessage } from './cluster-messages.js';

/** Longer than the primary's own wait for each worker, so that its error arrives first. */
const GATHER_TIMEOUT_MS = 10_000;

/**
 * One worker of `workers: N`: it runs the same runtime as one process, and tells the primary
 * instead of the log that it listens; GET /metrics on its admin listener answers with every
 * worker's metrics, which the primary aggregates (app/cluster-primary.ts).
 */
export interface ClusterWorker {
  /** 1..N: the worker's place among the N, kept by its replacements. */
  readonly slot: number;
  /** Every line this worker logs names it: `worker` (the slot) and `pid`. */
  bindLogger(logger: Logger): Logger;
  /** Hands this worker's metrics to the primary, and answers /metrics with every worker's. */
  shareMetrics(metrics: Metrics): void;
  /** Every listener is bound; `fields` is what one process would log as `patgate listening`. */
  listening(fields: Readonly<Record<string, unknown>>): void;
}

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
  return {
    slot,
    bindLogger: (logger) => sharedStdoutLogger(logger, { worker: slot, pid: process.pid }),
    shareMetrics: (metrics) => shareMetrics(metrics, send),
    listening: (fields) => send({ patgate: 'listening', fields }),
  };
}

function shareMetrics(metrics: Metrics, send: (message: WorkerMessage) => void): void {
  const waiting = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.patgate === 'collect') {
      const { id } = message;
      metrics.registry.getMetricsAsJSON().then(
        (own) => send({ patgate: 'collected', id, metrics: own }),
        (error: unknown) => send({ patgate: 'collected', id, error: String(error) }),
      );
      return;
    }
    const pending = waiting.get(message.id);
    if (pending === undefined) return;
    waiting.delete(message.id);
    if (message.text !== undefined) pending.resolve(message.text);
    else pending.reject(new Error(`metrics of every worker: ${message.error ?? 'no answer'}`));
  });
  metrics.exposeGathered(
    () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(
            new Error(`metrics of every worker: the primary did not answer within ${GATHER_TIMEOUT_MS} ms`),
          );
        }, GATHER_TIMEOUT_MS);
        waiting.set(id, {
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        send({ patgate: 'gather', id });
      }),
  );
}
