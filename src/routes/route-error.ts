import type { RouteError } from './types.js';

/** `routes[3] "GET /a/{x}" (line 12): message`, or the bare message for a non-route error. */
export function formatRouteError(error: RouteError): string {
  if (error.index < 0) return error.message;
  const line = error.line === undefined ? '' : ` (line ${error.line})`;
  return `routes[${error.index}] "${error.pattern}"${line}: ${error.message}`;
}
