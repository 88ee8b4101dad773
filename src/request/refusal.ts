import type { QueryRejection } from './query.js';

/**
 * Every way a request can be refused for its shape, before or besides any token decision. The
 * gateway's one refusal table (`gateway/refusal.ts`) gives each its status and title.
 */
export type RequestRefusal =
  | QueryRejection
  | 'bad_request_target'
  | 'too_many_headers'
  | 'missing_host'
  | 'duplicate_host'
  | 'bad_host'
  | 'method_override'
  | 'transfer_coding'
  | 'http10_transfer_encoding'
  | 'bad_content_type'
  | 'connection_names_end_to_end'
  | 'token_outside_authorization'
  | 'method_not_implemented'
  | 'http_version'
  | 'target_too_long'
  | 'body_too_large'
  | 'body_too_slow'
  | 'too_many_connections'
  | 'header_fields_too_large'
  | 'request_timeout'
  | 'expectation_failed'
  | 'malformed_request'
  /** A reserved path (`/_patgate/...`) asked with a method it does not serve. */
  | 'reserved_method'
  /** A decision request from a peer outside `trusted_proxies`: its account of a request is not believed. */
  | 'untrusted_decision_peer';
