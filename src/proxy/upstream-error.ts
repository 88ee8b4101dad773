export type UpstreamErrorKind = 'refused' | 'timeout' | 'reset' | 'other';

const KIND_BY_CODE: ReadonlyMap<string, UpstreamErrorKind> = new Map<string, UpstreamErrorKind>([
  ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
  ['UND_ERR_BODY_TIMEOUT', 'timeout'],
  ['ETIMEDOUT', 'timeout'],
  ['ECONNREFUSED', 'refused'],
  ['ENOTFOUND', 'refused'],
  ['EAI_AGAIN', 'refused'],
  ['EHOSTUNREACH', 'refused'],
  ['ENETUNREACH', 'refused'],
  ['UND_ERR_SOCKET', 'reset'],
  ['ECONNRESET', 'reset'],
  ['EPIPE', 'reset'],
]);

// Connect errors can arrive wrapped: Node's happy-eyeballs connect (autoSelectFamily) reports an
// AggregateError of per-address failures, and some layers attach the socket error as `cause`.
const MAX_UNWRAP_DEPTH = 4;

/** The one place that maps undici / Node network errors to the failure kinds the gateway reports. */
export function classifyUpstreamError(err: unknown): UpstreamErrorKind {
  let current: unknown = err;
  for (let depth = 0; depth < MAX_UNWRAP_DEPTH && typeof current === 'object' && current !== null; depth++) {
    const code: unknown = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      const kind = KIND_BY_CODE.get(code);
      if (kind !== undefined) return kind;
    }
    current =
      current instanceof AggregateError && current.errors.length > 0
        ? current.errors[0]
        : (current as { cause?: unknown }).cause;
  }
  return 'other';
}
