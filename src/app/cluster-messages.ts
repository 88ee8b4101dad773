import type { Registry } from 'prom-client';
import type { ReloadReport } from './reload-report.js';

/** The environment variable the primary sets on each worker it forks: the worker's slot, 1..N. */
export const WORKER_ENV = 'PATGATE_WORKER';

/** One worker's metrics, as `Registry.getMetricsAsJSON()` returns them. */
export type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * What a worker tells the primary over the IPC channel:
 * - `listening`: every listener is bound; `fields` is what one process logs as `patgate listening`.
 * - `gather`: a scrape of GET /metrics arrived; answer with every worker's metrics, aggregated.
 * - `collected`: this worker's own metrics, for the primary's `collect` of the same `id`.
 * - `reload-all`: POST /v1/admin/reload arrived; have every worker reload, and answer with each report.
 * - `reloaded`: this worker's report, for the primary's `reload` of the same `id`.
 */
export type WorkerMessage =
  | { readonly patgate: 'listening'; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly patgate: 'gather'; readonly id: number }
  | {
      readonly patgate: 'collected';
      readonly id: number;
      readonly metrics?: WorkerMetrics;
      readonly error?: string;
    }
  | { readonly patgate: 'reload-all'; readonly id: number }
  | {
      readonly patgate: 'reloaded';
      readonly id: number;
      readonly report?: ReloadReport;
      readonly error?: string;
    };

/**
 * What the primary tells a worker:
 * - `collect`: send your own metrics (`collected`).
 * - `gathered`: the aggregated text for your `gather` of the same `id`, or why there is none.
 * - `reload`: re-read the config file as SIGHUP does, and send the report (`reloaded`).
 * - `reloaded-all`: every worker's report for your `reload-all` of the same `id`, or why there is none.
 */
export type PrimaryMessage =
  | { readonly patgate: 'collect'; readonly id: number }
  | { readonly patgate: 'gathered'; readonly id: number; readonly text?: string; readonly error?: string }
  | { readonly patgate: 'reload'; readonly id: number }
  | {
      readonly patgate: 'reloaded-all';
      readonly id: number;
      /** By worker slot (1..N): the workers that were listening, with a report or why there is none. */
      readonly reports?: readonly {
        readonly worker: number;
        readonly report?: ReloadReport;
        readonly error?: string;
      }[];
      readonly error?: string;
    };

/** The channel also carries node:cluster's own messages and anyone else's: ours say `patgate`. */
function isOurs(message: unknown): message is { patgate: unknown } {
  return typeof message === 'object' && message !== null && 'patgate' in message;
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return (
    isOurs(message) &&
    ['listening', 'gather', 'collected', 'reload-all', 'reloaded'].includes(message.patgate as string)
  );
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return (
    isOurs(message) && ['collect', 'gathered', 'reload', 'reloaded-all'].includes(message.patgate as string)
  );
}
