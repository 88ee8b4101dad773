import type { AuditFilter, AuditLog } from '../store/audit-log.js';
import type { AdminApp } from './context.js';
import { parseInput } from './http.js';
import { auditQuery, orgAuditQuery } from './org-input.js';
import { loginParam, requireSiteAdmin } from './params.js';
import { auditView } from './views.js';

/** `GET /v1/audit` (site admin, every org) and `GET /v1/orgs/{org}/audit` (that org's admins too). */
export function registerAuditRoutes(app: AdminApp, log: AuditLog): void {
  app.get('/v1/audit', async (c) => {
    requireSiteAdmin(c.get('actor'));
    const q = parseInput(auditQuery, c.req.query());
    const events = await log.list(filterOf(q.org, q.token, q.user, q.limit));
    return c.json({ events: events.map(auditView) });
  });

  app.get('/v1/orgs/:org/audit', async (c) => {
    const org = loginParam(c, 'org');
    const q = parseInput(orgAuditQuery, c.req.query());
    const events = await log.list(filterOf(org, q.token, q.user, q.limit));
    return c.json({ org, events: events.map(auditView) });
  });
}

function filterOf(
  org: string | undefined,
  token: string | undefined,
  user: string | undefined,
  limit: number,
): AuditFilter {
  return {
    ...(org === undefined ? {} : { org: org.toLowerCase() }),
    ...(token === undefined ? {} : { tokenId: token }),
    ...(user === undefined ? {} : { user: user.toLowerCase() }),
    limit,
  };
}
