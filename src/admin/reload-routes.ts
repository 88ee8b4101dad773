import { ReloadIncompleteError, type ReloadReport } from '../app/reload-report.js';
import type { AdminApp } from './context.js';
import { HttpProblem } from './http.js';
import { requireSiteAdmin } from './params.js';

/** Reads the config file again and applies its route map: what SIGHUP does (`Runtime.reload`). */
export type Reload = () => Promise<ReloadReport>;

/** `POST /v1/admin/reload` (site admin): the reload's report, or 422 with why it was refused. */
export function registerReloadRoutes(app: AdminApp, reload: Reload): void {
  app.post('/v1/admin/reload', async (c) => {
    requireSiteAdmin(c.get('actor'));
    let report: ReloadReport;
    try {
      report = await reload();
    } catch (error) {
      if (!(error instanceof ReloadIncompleteError)) throw error;
      throw new HttpProblem(503, 'reload_incomplete', 'Reload incomplete', error.message, {
        workers: error.workers,
      });
    }
    if (!report.ok) {
      throw new HttpProblem(
        422,
        'reload_refused',
        'Reload refused',
        `the config file does not load; the current route map stays: ${report.errors.join('; ')}`,
        { errors: report.errors },
      );
    }
    return c.json({ routes: report.routes, restart_required: report.restartRequired }, 200, {
      'cache-control': 'no-store',
    });
  });
}
