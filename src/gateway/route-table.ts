import type { PermissionSet } from '../grants/permission.js';
import type { RouteMatcher } from '../routes/types.js';

/** What a reload swaps as one value, so a request never sees half of two maps. */
export interface RouteTable {
  readonly matcher: RouteMatcher;
  readonly implicit: PermissionSet;
  readonly hideForbidden: boolean;
  /**
   * Body limit in bytes by `RouteRule.index`: the route's `max_body_bytes`, else
   * `limits.max_body_bytes`. Precomputed at load so the request path does one array read.
   */
  readonly maxBodyBytes: readonly number[];
}
