import type { ReloadReport } from '../app/reload-report.js';
import type { AdminApp } from './context.js';
import { HttpProblem } from './http.js';
import { requireSiteAdmin } from './params.js';

/** Reads the config file again and applies its route map: what SIGHUP does (`Runtime.reload`). */
export type Reload = () => Promise<ReloadReport>;

/** `POST /v1/admin/reload` (site admin): the reload's report, or 422 with why it was refused. */
export function registerReloadRoutes(app: AdminApp, reload: Reload): void {
  app.post('/v1/admin/reload', async (c) => {
    requireSiteAdmin(c.get('actor'));
    const report = await reload();
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
