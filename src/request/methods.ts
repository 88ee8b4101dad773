/**
 * The methods patgate forwards. Anything else llhttp accepts (TRACE, CONNECT, the WebDAV
 * family, PURGE, QUERY, ...) is answered 501 without touching the upstream (RFC 9110 §9.1:
 * a method the server does not implement gets 501). TRACE in particular would echo the
 * request, identity headers included, back to the client (cross-site tracing, CVE-2004-2320).
 */
const SUPPORTED_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);

export function isSupportedMethod(method: string): boolean {
  return SUPPORTED_METHODS.has(method);
}
