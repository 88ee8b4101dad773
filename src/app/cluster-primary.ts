import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import { sharedStdoutLogger } from './cluster.js';
import { isWorkerMessage, type PrimaryMessage, WORKER_ENV, type WorkerMessage } from './cluster-messages.js';
import type { ReloadReport } from './reload-report.js';

export interface PrimaryOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** `shutdown_grace_ms`: how long each worker drains before it cuts what is left. */
  readonly graceMs: number;
}

/** A worker that lived this long was not crash-looping: its replacement starts at once. */
const STABLE_MS = 10_000;
/** Replacement delays double with each quick death in a row, from the first to the last. */
const FIRST_RESTART_MS = 100;
const MAX_RESTART_MS = 30_000;
/** How long a scrape waits for each worker's metrics. */
const COLLECT_TIMEOUT_MS = 5_000;
/** How long POST /v1/admin/reload waits for each worker to read the file and apply it. */
const RELOAD_TIMEOUT_MS = 30_000;
/** Past the workers' own grace period, a worker still running is killed. */
const STOP_MARGIN_MS = 5_000;
/** The fields of `patgate listening` that every worker must share (the primary holds the sockets). */
const ADDRESS_FIELDS = ['gateway', 'admin', 'decision'] as const;

export function isClusterPrimary(): boolean {
  return cluster.isPrimary;
}

/**
 * Runs `patgate serve` as the primary of `workers` processes and resolves with its exit code:
 * 0 once every worker drained after SIGTERM/SIGINT; a worker's own code if one could not start.
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  // Each worker is this command again (`node <flags> main.js serve ...`), with the flags the
  // primary got: the image's V8 settings are for every event loop, not only this one.
  cluster.setupPrimary({ execArgv: [...process.execArgv] });
  return new ClusterPrimary(options).run();
}

/** One of the N places; its worker is replaced when it dies. */
interface Slot {
  /** 1..N, the worker's `PATGATE_WORKER` and its `worker` log field. */
  readonly index: number;
  worker: Worker | null;
  listening: boolean;
  startedAt: number;
  /** Workers of this slot that died in a row, each before STABLE_MS. */
  quickDeaths: number;
  restart: NodeJS.Timeout | null;
  /** A SIGHUP arrived while the worker was starting: sent once it listens. */
  reloadPending: boolean;
}

/** A worker's answer to a question of the primary (`collect`, `reload`). */
type Reply = Extract<WorkerMessage, { patgate: 'collected' | 'reloaded' }>;

interface Asked {
  readonly worker: Worker;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

class ClusterPrimary {
  readonly #options: PrimaryOptions;
  readonly #logger: Logger;
  readonly #slots: Slot[];
  #phase: 'starting' | 'running' | 'stopping' = 'starting';
  /** The first worker's `patgate listening` fields: what the primary announces. */
  #announced: Readonly<Record<string, unknown>> | null = null;
  #exitCode = 0;
  #signalled = false;
  #finish: (code: number) => void = () => {};
  /** Questions to workers awaiting their answer, by `worker.id:id`. */
  readonly #asked = new Map<string, Asked>();
  #nextId = 0;

  constructor(options: PrimaryOptions) {
    this.#options = options;
    this.#logger = sharedStdoutLogger(options.logger);
    this.#slots = Array.from({ length: options.workers }, (_, i) => ({
      index: i + 1,
      worker: null,
      listening: false,
      startedAt: 0,
      quickDeaths: 0,
      restart: null,
      reloadPending: false,
    }));
  }

  run(): Promise<number> {
    return new Promise((resolve) => {
      this.#finish = resolve;
      process.on('SIGTERM', () => this.#stop('SIGTERM'));
      process.on('SIGINT', () => this.#stop('SIGINT'));
      process.on('SIGHUP', () => this.#reload());
      cluster.on('message', (worker, message: unknown) => this.#onMessage(worker, message));
      cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
      // The first worker alone: a config or an address it cannot start with is then said once,
      // by it, and the others never start.
      const [first] = this.#slots;
      if (first !== undefined) this.#fork(first);
    });
  }

  #fork(slot: Slot): void {
    slot.restart = null;
    slot.listening = false;
    slot.reloadPending = false;
    slot.startedAt = performance.now();
    slot.worker = cluster.fork({ [WORKER_ENV]: String(slot.index) });
  }

  #slotOf(worker: Worker): Slot | undefined {
    return this.#slots.find((s) => s.worker === worker);
  }

  #onMessage(worker: Worker, message: unknown): void {
    if (!isWorkerMessage(message)) return;
    switch (message.patgate) {
      case 'listening':
        this.#onListening(worker, message.fields);
        return;
      case 'gather': {
        const { id } = message;
        this.#gather().then(
          (text) => send(worker, { patgate: 'gathered', id, text }),
          (error: unknown) => {
            this.#logger.warn({ err: error }, 'could not gather the metrics of every worker');
            send(worker, { patgate: 'gathered', id, error: (error as Error).message });
          },
        );
        return;
      }
      case 'reload-all': {
        const { id } = message;
        this.#reloadAll().then(
          (reports) => send(worker, { patgate: 'reloaded-all', id, reports }),
          (error: unknown) => {
            this.#logger.error({ err: error }, 'could not reload every worker');
            send(worker, { patgate: 'reloaded-all', id, error: (error as Error).message });
          },
        );
        return;
      }
      case 'collected':
      case 'reloaded':
        this.#onReply(worker, message);
        return;
    }
  }

  #onListening(worker: Worker, fields: Readonly<Record<string, unknown>>): void {
    const slot = this.#slotOf(worker);
    if (slot === undefined) return;
    slot.listening = true;
    const who = { worker: slot.index, pid: worker.process.pid };
    const announced = this.#announced;
    if (announced !== null) {
      const moved = ADDRESS_FIELDS.filter((key) => fields[key] !== announced[key]);
      if (moved.length > 0) {
        // Only if its config differs from the first worker's (the file edited since startup), or
        // every worker on port 0 died at once and the primary let go of the socket.
        this.#logger.error(
          { ...who, keys: moved, ...pick(fields, moved) },
          'worker listens elsewhere than the first one; restart patgate to bring them together',
        );
      }
    }
    this.#logger.info(who, 'worker listening');
    if (slot.reloadPending) {
      slot.reloadPending = false;
      worker.process.kill('SIGHUP');
    }
    if (this.#phase !== 'starting') return;
    if (announced === null) {
      this.#announced = fields;
      for (const other of this.#slots) if (other.worker === null) this.#fork(other);
    }
    if (this.#slots.every((s) => s.listening)) {
      this.#phase = 'running';
      this.#logger.info({ ...this.#announced, workers: this.#slots.length }, 'patgate listening');
    }
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.#slotOf(worker);
    if (slot === undefined) return;
    slot.worker = null;
    slot.listening = false;
    this.#dropQuestions(worker);
    const who = { worker: slot.index, pid: worker.process.pid, code, signal };
    switch (this.#phase) {
      case 'stopping':
        // SIGTERM ends a worker that had not installed its handlers yet: it held no request.
        if (code !== 0 && signal !== 'SIGTERM') {
          this.#exitCode = 1;
          this.#logger.error(who, 'worker did not drain cleanly');
        }
        this.#finishIfDone();
        return;
      case 'starting':
        // A refusal (exit code 2) is already one line on stderr, from the worker.
        if (code !== 2) this.#logger.error(who, 'worker exited before listening; not starting');
        this.#exitCode = code === null || code === 0 ? 1 : code;
        this.#stopAll();
        return;
      case 'running': {
        const lived = performance.now() - slot.startedAt;
        if (lived >= STABLE_MS) slot.quickDeaths = 0;
        const delay = Math.min(MAX_RESTART_MS, FIRST_RESTART_MS * 2 ** slot.quickDeaths);
        slot.quickDeaths++;
        this.#logger.error(
          { ...who, lived_ms: Math.round(lived), restart_in_ms: delay },
          'worker exited; starting a replacement',
        );
        slot.restart = setTimeout(() => this.#fork(slot), delay);
        return;
      }
    }
  }

  #stop(signal: NodeJS.Signals): void {
    if (this.#phase === 'stopping') return;
    this.#signalled = true;
    this.#logger.info(
      { signal, grace_ms: this.#options.graceMs, workers: this.#slots.filter((s) => s.worker).length },
      'shutting down: draining every worker',
    );
    this.#stopAll();
  }

  /** Each worker runs its own graceful close (SIGTERM, as for one process); nothing is replaced. */
  #stopAll(): void {
    this.#phase = 'stopping';
    for (const slot of this.#slots) {
      if (slot.restart !== null) clearTimeout(slot.restart);
      slot.restart = null;
      slot.worker?.process.kill('SIGTERM');
    }
    setTimeout(() => {
      for (const slot of this.#slots) {
        if (slot.worker === null) continue;
        this.#logger.error(
          { worker: slot.index, pid: slot.worker.process.pid },
          'worker still running after the grace period; killing it',
        );
        slot.worker.process.kill('SIGKILL');
      }
    }, this.#options.graceMs + STOP_MARGIN_MS).unref();
    this.#finishIfDone();
  }

  #finishIfDone(): void {
    if (this.#slots.some((s) => s.worker !== null)) return;
    if (this.#signalled) this.#logger.info('stopped');
    this.#logger.flush();
    this.#finish(this.#exitCode);
  }

  /** SIGHUP to every worker: each re-reads the file and swaps its route map, as one process does. */
  #reload(): void {
    if (this.#phase === 'stopping') return;
    let now = 0;
    for (const slot of this.#slots) {
      if (slot.worker === null) continue;
      if (slot.listening) {
        slot.worker.process.kill('SIGHUP');
        now++;
      } else {
        // Before its handler is installed, SIGHUP would end the worker.
        slot.reloadPending = true;
      }
    }
    this.#logger.info({ workers: now }, 'SIGHUP: reloading the route map in every worker');
  }

  /**
   * `POST /v1/admin/reload` on any worker: every listening worker re-reads the file and applies
   * it, as on SIGHUP, and says what it did; a worker still starting reloads once it listens.
   */
  async #reloadAll(): Promise<{ worker: number; report?: ReloadReport; error?: string }[]> {
    if (this.#phase === 'stopping') throw new Error('patgate is shutting down');
    const id = this.#nextId++;
    const asked: { index: number; worker: Worker }[] = [];
    for (const slot of this.#slots) {
      if (slot.worker === null) continue;
      if (slot.listening && slot.worker.isConnected()) asked.push({ index: slot.index, worker: slot.worker });
      else slot.reloadPending = true;
    }
    // Every worker's outcome, a failure included: the others have applied the file all the same.
    const settled = await Promise.allSettled(
      asked.map(async ({ worker }) => {
        const reply = await this.#ask(worker, { patgate: 'reload', id }, RELOAD_TIMEOUT_MS);
        if (reply.patgate !== 'reloaded' || reply.report === undefined) {
          throw new Error(reply.error ?? 'no report');
        }
        return reply.report;
      }),
    );
    const reports = settled.map((result, i) => {
      const worker = asked[i]?.index ?? 0;
      return result.status === 'fulfilled'
        ? { worker, report: result.value }
        : { worker, error: String((result.reason as Error).message ?? result.reason) };
    });
    this.#logger.info(
      { workers: reports.length, failed: reports.filter((r) => r.error !== undefined).length },
      'POST /v1/admin/reload: asked every worker to reload',
    );
    return reports;
  }

  /**
   * Every listening worker's metrics, aggregated by prom-client (counters and histograms summed,
   * as each metric's `aggregator` says). A worker still starting is not asked: it has nothing to
   * count yet, and it could not answer before the scrape times out.
   */
  async #gather(): Promise<string> {
    const workers = this.#slots.flatMap((s) =>
      s.worker !== null && s.listening && s.worker.isConnected() ? [s.worker] : [],
    );
    const id = this.#nextId++;
    const each = await Promise.all(
      workers.map(async (worker) => {
        const reply = await this.#ask(worker, { patgate: 'collect', id }, COLLECT_TIMEOUT_MS);
        if (reply.patgate === 'collected' && reply.metrics !== undefined) return reply.metrics;
        throw new Error(`worker pid ${worker.process.pid}: ${reply.error ?? 'no metrics'}`);
      }),
    );
    return AggregatorRegistry.aggregate(each).metrics();
  }

  /** Sends `question` to `worker` and resolves with its answer of the same id. */
  #ask(
    worker: Worker,
    question: PrimaryMessage & { readonly id: number },
    timeoutMs: number,
  ): Promise<Reply> {
    const key = `${worker.id}:${question.id}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#asked.delete(key);
        reject(new Error(`worker pid ${worker.process.pid} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#asked.set(key, {
        worker,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      send(worker, question);
    });
  }

  #onReply(worker: Worker, reply: Reply): void {
    const key = `${worker.id}:${reply.id}`;
    const pending = this.#asked.get(key);
    if (pending === undefined) return;
    this.#asked.delete(key);
    pending.resolve(reply);
  }

  #dropQuestions(worker: Worker): void {
    for (const [key, pending] of this.#asked) {
      if (pending.worker !== worker) continue;
      this.#asked.delete(key);
      pending.reject(new Error(`worker pid ${worker.process.pid} exited before it answered`));
    }
  }
}

function send(worker: Worker, message: PrimaryMessage): void {
  // A worker that is exiting may have closed its channel: its scrape is then moot.
  if (worker.isConnected()) worker.send(message, undefined, () => {});
}

function pick(fields: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, fields[key]]));
}
