/** Serves one batch: one output per input, in order; an `Error` output fails that input alone. */
export type BatchRunner<Input, Output> = (inputs: readonly Input[]) => Promise<readonly (Output | Error)[]>;

interface Waiting<Input, Output> {
  readonly input: Input;
  readonly resolve: (output: Output) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the calls made during one turn of the event loop and serves them with one request.
 *
 * The batch is sent from `setImmediate`, which runs once the loop has handled every socket that
 * was readable in this turn: under load, the requests that arrived together share one write, one
 * reply and one parse, instead of a syscall pair each. A lone call waits for nothing but the rest
 * of the current turn. A microtask would not do: Node drains microtasks after each callback, so
 * every request would still go alone.
 *
 * Every batch is sent as soon as it is formed, whatever earlier batches are doing: a hung server
 * makes each one wait for its own timeout only (unlike ioredis auto-pipelining, which holds the
 * next batch until the previous one settles).
 */
export class TurnBatcher<Input, Output> {
  readonly #maxBatch: number;
  readonly #run: BatchRunner<Input, Output>;
  #queue: Waiting<Input, Output>[] = [];
  #scheduled = false;

  constructor(maxBatch: number, run: BatchRunner<Input, Output>) {
    if (!Number.isInteger(maxBatch) || maxBatch <= 0) {
      throw new TypeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    }
    this.#maxBatch = maxBatch;
    this.#run = run;
  }

  add(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (let start = 0; start < queue.length; start += this.#maxBatch) {
      this.#send(queue.slice(start, start + this.#maxBatch));
    }
  };

  #send(batch: readonly Waiting<Input, Output>[]): void {
    let running: Promise<readonly (Output | Error)[]>;
    try {
      running = this.#run(batch.map((w) => w.input));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (outputs) => {
        if (!Array.isArray(outputs) || outputs.length !== batch.length) {
          const error = new Error(`a batch of ${batch.length} got an answer of another shape`);
          for (const w of batch) w.reject(error);
          return;
        }
        for (let i = 0; i < batch.length; i++) {
          const output = outputs[i] as Output | Error;
          const waiting = batch[i] as Waiting<Input, Output>;
          if (output instanceof Error) waiting.reject(output);
          else waiting.resolve(output);
        }
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}
