import type { PermissionSet } from '../../config/permission.js';
import type { FeatureLevels } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { RouteMatcher } from '../../routes/types.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { GrantStore } from '../../store/grant-store.js';
import type { InternalApi } from './internal-api.js';

/** The route map the gateway enforces now (swapped on reload, read per page). */
export interface RouteMap {
  readonly matcher: RouteMatcher;
  readonly implicit: PermissionSet;
  readonly hideForbidden: boolean;
}

/** What the page groups share. */
export interface PagesDeps {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly api: InternalApi;
  /** The feature catalogue as configured now. */
  readonly features: () => Readonly<Record<string, FeatureLevels>>;
  readonly routes: () => RouteMap;
  readonly now: () => number;
  readonly logger: Logger;
}
