import type { HeaderRejection } from './header-check.js';
import type { QueryRejection } from './query.js';

/**
 * Every way a request can be refused for its shape (before or besides any token decision).
 * Target rejections other than length keep the gateway's `bad_request_target` answer.
 */
export type RequestRefusal =
  | HeaderRejection
  | QueryRejection
  | 'method_not_implemented'
  | 'http_version'
  | 'target_too_long'
  | 'body_too_large'
  | 'too_many_connections'
  | 'header_fields_too_large'
  | 'request_timeout'
  | 'expectation_failed'
  | 'malformed_request';

export interface RefusalStatus {
  readonly status: number;
  readonly title: string;
}

/** The one map from refusal to status. Exhaustive: a new refusal without a status does not compile. */
export function refusalStatus(refusal: RequestRefusal): RefusalStatus {
  switch (refusal) {
    case 'missing_host':
    case 'duplicate_host':
    case 'bad_host':
      return { status: 400, title: 'Bad Host header' };
    case 'method_override':
      return { status: 400, title: 'Method override refused' };
    case 'token_in_query':
      return { status: 400, title: 'Credential in the query string' };
    case 'http10_transfer_encoding':
    case 'malformed_request':
      return { status: 400, title: 'Bad request' };
    case 'too_many_headers':
    case 'header_fields_too_large':
      // RFC 6585 §5.
      return { status: 431, title: 'Request header fields too large' };
    case 'transfer_coding':
    case 'method_not_implemented':
      // RFC 9110 §15.6.2: the server does not support the functionality required.
      return { status: 501, title: 'Not implemented' };
    case 'http_version':
      return { status: 505, title: 'HTTP version not supported' };
    case 'target_too_long':
      return { status: 414, title: 'URI too long' };
    case 'body_too_large':
      return { status: 413, title: 'Content too large' };
    case 'too_many_connections':
      // RFC 6585 §4: this client, not the server, is over its share.
      return { status: 429, title: 'Too many connections' };
    case 'request_timeout':
      return { status: 408, title: 'Request timeout' };
    case 'expectation_failed':
      return { status: 417, title: 'Expectation failed' };
  }
}
