import type { PermissionSet } from '../grants/permission.js';
import type { RouteMatcher } from '../routes/types.js';

/** What a reload swaps as one value, so a request never sees half of two maps. */
export interface RouteTable {
  readonly matcher: RouteMatcher;
  readonly implicit: PermissionSet;
  readonly hideForbidden: boolean;
}
