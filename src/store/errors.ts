/** The backing store could not answer (down, hung past the command timeout, or refused). */
export class StoreUnavailableError extends Error {
  readonly code = 'PATGATE_STORE_UNAVAILABLE';
  constructor(options?: { cause?: unknown }) {
    super('grant store unavailable', options);
    this.name = 'StoreUnavailableError';
  }
}

/** A write conflicted with existing data (duplicate id or hash). */
export class StoreConflictError extends Error {
  readonly code = 'PATGATE_STORE_CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}
