/** `UpstreamOptions` failed validation; thrown by the `Upstream` constructor, never per request. */
export class InvalidUpstreamOptionsError extends Error {
  readonly code = 'PATGATE_INVALID_UPSTREAM_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidUpstreamOptionsError';
  }
}

/** Reason handed to undici when the downstream client went away, so the upstream request is torn down too. */
export class ClientAbortedError extends Error {
  readonly code = 'PATGATE_CLIENT_ABORTED';
  constructor() {
    super('downstream client closed the connection');
    this.name = 'ClientAbortedError';
  }
}
