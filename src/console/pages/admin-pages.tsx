import type { AdminApp } from '../../admin/context.js';
import type { TokenStatus } from '../../grants/token-record.js';
import { describeRequirement } from '../../routes/describe.js';
import { isTokenId } from '../../tokens/format.js';
import type { PagesDeps } from './deps.js';
import { explainRequest, ownerToCheck, type Verdict, wouldPass } from './explain.js';
import { knownOrgs } from './known-orgs.js';
import { Layout, Notice } from './layout.js';
import { AuditFilters, AuditTable, OrgTokenTable } from './org-pages.js';
import type { PageGuard } from './token-pages.js';
import { requireSiteAdmin, viewerOf } from './viewer.js';

const STATUSES: readonly TokenStatus[] = ['active', 'pending', 'denied', 'revoked'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

const AdminNav = ({ current }: { current: string }) => (
  <nav aria-label="Site admin">
    <p>
      {[
        ['/console/admin', 'Organizations'],
        ['/console/admin/tokens', 'Token search'],
        ['/console/admin/routes', 'Route map'],
        ['/console/admin/audit', 'Audit log'],
      ].map(([href, title]) => (
        <>
          <a href={href} aria-current={href === current ? 'page' : undefined}>
            {title}
          </a>{' '}
        </>
      ))}
    </p>
  </nav>
);

/**
 * Site admin pages (people named in `console.site_admins`): every org (each with the
 * org admin pages), token search, the route map with explain, and the whole audit log.
 */
export function registerAdminPages(app: AdminApp, deps: PagesDeps, page: PageGuard): void {
  const { store, audit, now } = deps;

  app.get('/console/admin', page, async (c) => {
    const viewer = viewerOf(c);
    requireSiteAdmin(viewer);
    const orgs = await knownOrgs(store, audit);
    const rows = await Promise.all(
      orgs.map(async (org) => {
        const [policy, members, pending] = await Promise.all([
          store.getOrgPolicy(org),
          store.getMembers(org),
          store.listTokens({ resourceOwner: org, status: 'pending' }),
        ]);
        return {
          org,
          registered: policy !== null || members.size > 0,
          members: members.size,
          pending: pending.length,
        };
      }),
    );
    return c.html(
      <Layout title="Site admin" viewer={viewer} current="/console/admin">
        <AdminNav current="/console/admin" />
        <h2>Organizations</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Organization</th>
              <th scope="col">Registered</th>
              <th scope="col">Members</th>
              <th scope="col">Waiting requests</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td>
                  <a href={`/console/orgs/${r.org}/requests`}>{r.org}</a>
                </td>
                <td>{r.registered ? 'yes' : 'no'}</td>
                <td>{String(r.members)}</td>
                <td>{String(r.pending)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
    );
  });

  app.get('/console/admin/tokens', page, async (c) => {
    const viewer = viewerOf(c);
    requireSiteAdmin(viewer);
    const q = c.req.query();
    const user = (q.user ?? '').trim().toLowerCase();
    const owner = (q.owner ?? '').trim().toLowerCase();
    const status = STATUSES.find((s) => s === q.status);
    const id = (q.id ?? '').trim();
    const searched = user !== '' || owner !== '' || status !== undefined || id !== '';
    let tokens = searched
      ? isTokenId(id)
        ? [await store.getToken(id)].filter((t) => t !== null)
        : await store.listTokens({
            ...(user === '' ? {} : { user }),
            ...(owner === '' ? {} : { resourceOwner: owner }),
            ...(status === undefined ? {} : { status }),
          })
      : [];
    if (id !== '' && !isTokenId(id)) tokens = [];
    const lastUsed = new Map(
      await Promise.all(tokens.map(async (t) => [t.id, await store.getLastUsed(t.id)] as const)),
    );
    return c.html(
      <Layout title="Token search" viewer={viewer} current="/console/admin">
        <AdminNav current="/console/admin/tokens" />
        <form method="get" class="filters" action="/console/admin/tokens">
          <div>
            <label for="s-user">Holder</label>
            <input type="search" id="s-user" name="user" value={user} />
          </div>
          <div>
            <label for="s-owner">Resource owner</label>
            <input type="search" id="s-owner" name="owner" value={owner} />
          </div>
          <div>
            <label for="s-status">Status</label>
            <select id="s-status" name="status">
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option value={s} selected={s === status}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="s-id">Token id</label>
            <input type="search" id="s-id" name="id" value={id} />
          </div>
          <button type="submit">Search</button>
        </form>
        {searched ? (
          <OrgTokenTable viewer={viewer} org={null} tokens={tokens} lastUsed={lastUsed} now={now()} />
        ) : (
          <p>Search by holder, owner, status or id.</p>
        )}
      </Layout>,
    );
  });

  app.get('/console/admin/routes', page, async (c) => {
    const viewer = viewerOf(c);
    requireSiteAdmin(viewer);
    const map = deps.routes();
    const q = c.req.query();
    const method = METHODS.includes((q.method ?? '').toUpperCase()) ? (q.method ?? '').toUpperCase() : 'GET';
    const path = (q.path ?? '').trim();
    const tokenId = (q.token ?? '').trim();
    const explained = path === '' ? null : explainRequest(map, method, path);
    let verdict: Verdict | null = null;
    let tokenProblem: string | null = null;
    if (explained?.kind === 'route' && tokenId !== '') {
      const token = isTokenId(tokenId) ? await store.getToken(tokenId) : null;
      if (token === null) tokenProblem = `no token ${tokenId}`;
      else {
        const owner = ownerToCheck(explained, token);
        const [policy, members] = await Promise.all([store.getOrgPolicy(owner), store.getMembers(owner)]);
        verdict = wouldPass(map, explained, token, { policy, members }, now());
      }
    }
    return c.html(
      <Layout title="Route map" viewer={viewer} current="/console/admin">
        <AdminNav current="/console/admin/routes" />
        <h2 id="explain">Explain a request</h2>
        <form method="get" class="filters" action="/console/admin/routes" aria-labelledby="explain">
          <div>
            <label for="e-method">Method</label>
            <select id="e-method" name="method">
              {METHODS.map((m) => (
                <option value={m} selected={m === method}>
                  {m}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="e-path">Path</label>
            <input type="text" id="e-path" name="path" value={path} placeholder="/repos/acme/api/pulls" />
          </div>
          <div>
            <label for="e-token">Token id (optional)</label>
            <input type="text" id="e-token" name="token" value={tokenId} />
          </div>
          <button type="submit">Explain</button>
        </form>
        {explained === null ? null : explained.kind === 'refused' ? (
          <Notice error>{`Refused with 400 before any route is looked at (${explained.detail}).`}</Notice>
        ) : explained.kind === 'no_route' ? (
          <Notice
            error
          >{`${method} ${explained.path}: no route (answered 404; the upstream is never called).`}</Notice>
        ) : (
          <section aria-labelledby="explained">
            <h3 id="explained">{`${method} ${explained.path}`}</h3>
            <dl class="facts">
              <dt>Rule</dt>
              <dd class="mono">{`${explained.rule.pattern} (routes[${explained.rule.index}]${explained.rule.line === undefined ? '' : `, line ${explained.rule.line}`})`}</dd>
              <dt>Needs</dt>
              <dd>{explained.needs}</dd>
              <dt>Resource</dt>
              <dd>
                {explained.owner === null
                  ? "the token's resource owner"
                  : explained.repo === null
                    ? `owner ${explained.owner}`
                    : `repository ${explained.owner}/${explained.repo}`}
              </dd>
              {map.implicit.length === 0 ? null : (
                <>
                  <dt>Implicit</dt>
                  <dd>{`${map.implicit.map((p) => `${p.feature}:${p.level}`).join(', ')} (held by every fine-grained token)`}</dd>
                </>
              )}
              {tokenProblem === null ? null : (
                <>
                  <dt>Token</dt>
                  <dd>{tokenProblem}</dd>
                </>
              )}
              {verdict === null ? null : (
                <>
                  <dt>{`Token ${tokenId}`}</dt>
                  <dd>
                    <strong>
                      {verdict.allowed
                        ? 'would pass'
                        : `would be refused: ${verdict.status} ${verdict.reason}`}
                    </strong>
                    {` — ${verdict.detail}`}
                  </dd>
                </>
              )}
            </dl>
          </section>
        )}
        <h2>Routes</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Route</th>
              <th scope="col">Needs</th>
            </tr>
          </thead>
          <tbody>
            {map.matcher.rules.map((rule) => (
              <tr>
                <td>{String(rule.index)}</td>
                <td class="mono">{rule.pattern}</td>
                <td>{describeRequirement(rule)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
    );
  });

  app.get('/console/admin/audit', page, async (c) => {
    const viewer = viewerOf(c);
    requireSiteAdmin(viewer);
    const q = c.req.query();
    const user = (q.user ?? '').trim().toLowerCase();
    const token = (q.token ?? '').trim();
    const action = (q.action ?? '').trim();
    let events = await audit.list({
      ...(user === '' ? {} : { user }),
      ...(token === '' ? {} : { tokenId: token }),
      limit: 200,
    });
    if (action !== '') events = events.filter((e) => e.action === action);
    return c.html(
      <Layout title="Audit log" viewer={viewer} current="/console/admin">
        <AdminNav current="/console/admin/audit" />
        <AuditFilters action="/console/admin/audit" user={user} token={token} act={action} />
        <AuditTable events={events} />
      </Layout>,
    );
  });
}
