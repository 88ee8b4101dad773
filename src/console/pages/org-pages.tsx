import type { Context } from 'hono';
import type { Child, FC } from 'hono/jsx';
import type { AdminApp, AdminEnv } from '../../admin/context.js';
import { HttpProblem } from '../../admin/http.js';
import { orgMaySee, tokensReachingOrg } from '../../admin/org-reach.js';
import { loginParam } from '../../admin/params.js';
import { DEFAULT_ORG_POLICY } from '../../grants/owner.js';
import type { TokenRecord } from '../../grants/token-record.js';
import type { AuditEvent } from '../../store/audit-log.js';
import { isTokenId } from '../../tokens/format.js';
import type { PagesDeps } from './deps.js';
import { Csrf, Layout, Status, when } from './layout.js';
import type { PageGuard } from './token-pages.js';
import { displayStatus, ownerOf, permissionsText, repositoriesText } from './token-view.js';
import { actorOf, requireOrgAdmin, type Viewer, viewerOf } from './viewer.js';

const SECTIONS = [
  ['requests', 'Approval queue'],
  ['tokens', 'Tokens'],
  ['members', 'Members'],
  ['policy', 'Policy'],
  ['audit', 'Audit log'],
] as const;
type Section = (typeof SECTIONS)[number][0];

/** The org a page is about, once the viewer is known to administer it (or a site admin). */
function orgOf(c: Context): string {
  const org = loginParam(c, 'org');
  requireOrgAdmin(viewerOf(c), org);
  return org;
}

function idOf(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!isTokenId(id)) throw new HttpProblem(404, 'not_found', 'Not Found', 'no such token');
  return id;
}

function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value.trim() : '';
}

export const OrgPage: FC<{ viewer: Viewer; org: string; section: Section; children?: Child }> = ({
  viewer,
  org,
  section,
  children,
}) => (
  <Layout
    title={`${org}: ${SECTIONS.find(([s]) => s === section)?.[1] ?? ''}`}
    viewer={viewer}
    current={`/console/orgs/${org}`}
  >
    <nav aria-label={`Organization ${org}`}>
      <p>
        {SECTIONS.map(([s, title]) => (
          <>
            <a href={`/console/orgs/${org}/${s}`} aria-current={s === section ? 'page' : undefined}>
              {title}
            </a>{' '}
          </>
        ))}
      </p>
    </nav>
    {children}
  </Layout>
);

/**
 * Org admin pages: the approval queue, the tokens reaching the org, members and
 * invitations, the policy, and the org's audit log. Reads use the admin API's own
 * reach functions; every change is the admin API's handler, called as the person.
 */
export function registerOrgPages(app: AdminApp, deps: PagesDeps, page: PageGuard): void {
  const { store, audit, api, now } = deps;

  const orgState = async (org: string) => {
    const [policy, members] = await Promise.all([store.getOrgPolicy(org), store.getMembers(org)]);
    return { policy, members };
  };
  // After a change, back to the page that shows its effect (no message in the URL: a link
  // could otherwise put words of its own on an admin's page).
  const back = (c: Context<AdminEnv>, org: string, section: Section) =>
    c.redirect(`/console/orgs/${org}/${section}`, 303);

  app.get('/console/orgs/:org', page, (c) => c.redirect(`/console/orgs/${orgOf(c)}/requests`, 303));

  app.get('/console/orgs/:org/requests', page, async (c) => {
    const org = orgOf(c);
    const viewer = viewerOf(c);
    const [pending, state] = await Promise.all([
      store.listTokens({ resourceOwner: org, status: 'pending' }),
      orgState(org),
    ]);
    const requests = pending.filter((t) => orgMaySee(t, org, state));
    return c.html(
      <OrgPage viewer={viewer} org={org} section="requests">
        {requests.length === 0 ? (
          <p>No requests are waiting.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Requested by</th>
                <th scope="col">Token</th>
                <th scope="col">Repositories</th>
                <th scope="col">Permissions</th>
                <th scope="col">Expires</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((t) => (
                <tr>
                  <td>{t.user}</td>
                  <td>
                    {t.name}
                    <div class="hint mono">{t.id}</div>
                  </td>
                  <td>{repositoriesText(t)}</td>
                  <td>{permissionsText(t)}</td>
                  <td>{when(t.expiresAt)}</td>
                  <td>
                    {t.user === viewer.user ? (
                      <p>Your own request: another admin decides it.</p>
                    ) : (
                      <>
                        <form
                          class="inline"
                          method="post"
                          action={`/console/orgs/${org}/requests/${t.id}/approve`}
                        >
                          <Csrf viewer={viewer} />
                          <button type="submit" class="primary" aria-label={`Approve ${t.name} by ${t.user}`}>
                            Approve
                          </button>
                        </form>
                        <form method="post" action={`/console/orgs/${org}/requests/${t.id}/deny`}>
                          <Csrf viewer={viewer} />
                          <label for={`reason-${t.id}`}>Reason for denying</label>
                          <input type="text" id={`reason-${t.id}`} name="reason" maxlength={500} />{' '}
                          <button type="submit" class="danger" aria-label={`Deny ${t.name} by ${t.user}`}>
                            Deny
                          </button>
                        </form>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </OrgPage>,
    );
  });

  for (const verdict of ['approve', 'deny'] as const) {
    app.post(`/console/orgs/:org/requests/:id/${verdict}`, page, async (c) => {
      const org = orgOf(c);
      const id = idOf(c);
      const viewer = viewerOf(c);
      const form = await c.req.parseBody();
      const found = await store.getToken(id);
      // Four eyes in the console for everyone, site admins too: a request is someone else's judgement.
      if (found !== null && found.user === viewer.user) {
        throw new HttpProblem(
          403,
          'own_request',
          'Your own request',
          'another admin of the organization decides your own request',
        );
      }
      const reason = field(form, 'reason');
      await api.call(
        actorOf(viewer),
        'POST',
        `/v1/orgs/${org}/token-requests/${id}/${verdict}`,
        reason === '' ? {} : { reason },
      );
      return back(c, org, 'requests');
    });
  }

  app.get('/console/orgs/:org/tokens', page, async (c) => {
    const org = orgOf(c);
    const viewer = viewerOf(c);
    const q = c.req.query();
    const [all, state] = await Promise.all([store.listTokens({}), orgState(org)]);
    const at = now();
    let tokens = tokensReachingOrg(all, org, state, at);
    const lastUsed = new Map(
      await Promise.all(tokens.map(async (t) => [t.id, await store.getLastUsed(t.id)] as const)),
    );
    const user = (q.user ?? '').trim().toLowerCase();
    const status = q.status ?? '';
    const unusedSince = /^\d{4}-\d{2}-\d{2}$/.test(q.unused_since ?? '') ? (q.unused_since as string) : '';
    if (user !== '') tokens = tokens.filter((t) => t.user === user);
    if (status !== '') tokens = tokens.filter((t) => displayStatus(t, at) === status);
    if (unusedSince !== '') {
      tokens = tokens.filter((t) => {
        const used = lastUsed.get(t.id) ?? null;
        return used === null || used.slice(0, 10) < unusedSince;
      });
    }
    return c.html(
      <OrgPage viewer={viewer} org={org} section="tokens">
        <form method="get" class="filters" action={`/console/orgs/${org}/tokens`}>
          <div>
            <label for="f-user">Holder</label>
            <input type="search" id="f-user" name="user" value={user} />
          </div>
          <div>
            <label for="f-status">Status</label>
            <select id="f-status" name="status">
              {['', 'active', 'pending', 'expired'].map((s) => (
                <option value={s} selected={s === status}>
                  {s === '' ? 'any' : s}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="f-unused">Not used since</label>
            <input type="date" id="f-unused" name="unused_since" value={unusedSince} />
          </div>
          <button type="submit">Filter</button>
        </form>
        <OrgTokenTable viewer={viewer} org={org} tokens={tokens} lastUsed={lastUsed} now={at} />
      </OrgPage>,
    );
  });

  app.post('/console/orgs/:org/tokens/:id/revoke', page, async (c) => {
    const org = orgOf(c);
    const id = idOf(c);
    const form = await c.req.parseBody();
    const reason = field(form, 'reason');
    await api.call(
      actorOf(viewerOf(c)),
      'DELETE',
      `/v1/orgs/${org}/tokens/${id}`,
      reason === '' ? {} : { reason },
    );
    return back(c, org, 'tokens');
  });

  app.get('/console/orgs/:org/members', page, async (c) => {
    const org = orgOf(c);
    const viewer = viewerOf(c);
    const [members, invitations] = await Promise.all([store.getMembers(org), store.listInvitations({ org })]);
    return c.html(
      <OrgPage viewer={viewer} org={org} section="members">
        <h2>Members</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {[...members]
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([user, role]) => (
                <tr>
                  <td>{user}</td>
                  <td>{role}</td>
                  <td>
                    <form class="inline" method="post" action={`/console/orgs/${org}/members/${user}/remove`}>
                      <Csrf viewer={viewer} />
                      <button type="submit" class="danger" aria-label={`Remove ${user}`}>
                        Remove
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
        <h2>Invitations</h2>
        {invitations.length === 0 ? (
          <p>No open invitations.</p>
        ) : (
          <ul>
            {invitations.map((i) => (
              <li>
                {`${i.user} as ${i.role}, invited by ${i.invitedBy}, until ${when(i.expiresAt)} `}
                <form
                  class="inline"
                  method="post"
                  action={`/console/orgs/${org}/invitations/${i.user}/withdraw`}
                >
                  <Csrf viewer={viewer} />
                  <button type="submit" aria-label={`Withdraw the invitation of ${i.user}`}>
                    Withdraw
                  </button>
                </form>
              </li>
            ))}
          </ul>
        )}
        <h2>Invite or change a role</h2>
        <form method="post" action={`/console/orgs/${org}/members`}>
          <Csrf viewer={viewer} />
          <label for="m-user">User</label>
          <input type="text" id="m-user" name="user" required maxlength={39} />
          <label for="m-role">Role</label>
          <select id="m-role" name="role">
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>{' '}
          <button type="submit">Invite or set role</button>
          <p class="hint">Someone who is not a member yet is invited, and joins when they accept.</p>
        </form>
      </OrgPage>,
    );
  });

  app.post('/console/orgs/:org/members', page, async (c) => {
    const org = orgOf(c);
    const form = await c.req.parseBody();
    const user = field(form, 'user').toLowerCase();
    const role = field(form, 'role');
    if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$/.test(user)) {
      throw new HttpProblem(
        400,
        'invalid_input',
        'Invalid input',
        'user: expected a login: letters, digits and single hyphens',
      );
    }
    await api.call(actorOf(viewerOf(c)), 'PUT', `/v1/orgs/${org}/members/${user}`, { role });
    return back(c, org, 'members');
  });

  app.post('/console/orgs/:org/members/:user/remove', page, async (c) => {
    const org = orgOf(c);
    const user = loginParam(c, 'user');
    await api.call(actorOf(viewerOf(c)), 'DELETE', `/v1/orgs/${org}/members/${user}`);
    return back(c, org, 'members');
  });

  app.post('/console/orgs/:org/invitations/:user/withdraw', page, async (c) => {
    const org = orgOf(c);
    const user = loginParam(c, 'user');
    await api.call(actorOf(viewerOf(c)), 'DELETE', `/v1/orgs/${org}/invitations/${user}`);
    return back(c, org, 'members');
  });

  app.get('/console/orgs/:org/policy', page, async (c) => {
    const org = orgOf(c);
    const viewer = viewerOf(c);
    const policy = (await store.getOrgPolicy(org)) ?? DEFAULT_ORG_POLICY;
    return c.html(
      <OrgPage viewer={viewer} org={org} section="policy">
        <form method="post" action={`/console/orgs/${org}/policy`}>
          <Csrf viewer={viewer} />
          <fieldset>
            <legend>Token policy</legend>
            <input
              type="checkbox"
              id="p-approval"
              name="require_approval"
              value="true"
              checked={policy.requireApproval}
            />
            <label class="inline" for="p-approval">
              An admin approves every new fine-grained token
            </label>
            <label for="p-max">
              Longest token lifetime, in days (empty: no limit but the 366-day ceiling)
            </label>
            <input
              type="text"
              inputmode="numeric"
              id="p-max"
              name="max_lifetime_days"
              value={policy.maxLifetimeDays === null ? '' : String(policy.maxLifetimeDays)}
            />
            <label for="p-fine">Fine-grained tokens</label>
            <select id="p-fine" name="fine_grained_tokens">
              {(['allowed', 'blocked'] as const).map((v) => (
                <option value={v} selected={policy.fineGrainedTokens === v}>
                  {v}
                </option>
              ))}
            </select>
            <label for="p-classic">Classic tokens</label>
            <select id="p-classic" name="classic_tokens">
              {(['allowed', 'blocked'] as const).map((v) => (
                <option value={v} selected={policy.classicTokens === v}>
                  {v}
                </option>
              ))}
            </select>
          </fieldset>
          <button type="submit" class="primary">
            Save policy
          </button>
        </form>
      </OrgPage>,
    );
  });

  app.post('/console/orgs/:org/policy', page, async (c) => {
    const org = orgOf(c);
    const form = await c.req.parseBody();
    const max = field(form, 'max_lifetime_days');
    const days = Number(max);
    if (max !== '' && !(Number.isInteger(days) && days >= 1 && days <= 366)) {
      throw new HttpProblem(
        400,
        'invalid_input',
        'Invalid input',
        'max_lifetime_days: a whole number of days from 1 to 366, or empty',
      );
    }
    await api.call(actorOf(viewerOf(c)), 'PUT', `/v1/orgs/${org}/policy`, {
      require_approval: field(form, 'require_approval') === 'true',
      max_lifetime_days: max === '' ? null : days,
      fine_grained_tokens: field(form, 'fine_grained_tokens'),
      classic_tokens: field(form, 'classic_tokens'),
    });
    return back(c, org, 'policy');
  });

  app.get('/console/orgs/:org/audit', page, async (c) => {
    const org = orgOf(c);
    const viewer = viewerOf(c);
    const q = c.req.query();
    const user = (q.user ?? '').trim().toLowerCase();
    const token = (q.token ?? '').trim();
    const action = (q.action ?? '').trim();
    let events = await audit.list({
      org,
      ...(user === '' ? {} : { user }),
      ...(token === '' ? {} : { tokenId: token }),
      limit: 200,
    });
    if (action !== '') events = events.filter((e) => e.action === action);
    return c.html(
      <OrgPage viewer={viewer} org={org} section="audit">
        <AuditFilters action={`/console/orgs/${org}/audit`} user={user} token={token} act={action} />
        <AuditTable events={events} />
      </OrgPage>,
    );
  });
}

const ACTIONS = [
  'token.create',
  'token.approve',
  'token.deny',
  'token.revoke',
  'token.regenerate',
  'org.policy.update',
  'org.member.set',
  'org.member.remove',
  'org.member.invite',
  'org.member.accept',
  'org.member.uninvite',
];

export const AuditFilters: FC<{ action: string; user: string; token: string; act: string }> = ({
  action,
  user,
  token,
  act,
}) => (
  <form method="get" class="filters" action={action}>
    <div>
      <label for="a-user">User</label>
      <input type="search" id="a-user" name="user" value={user} />
    </div>
    <div>
      <label for="a-token">Token id</label>
      <input type="search" id="a-token" name="token" value={token} />
    </div>
    <div>
      <label for="a-action">Action</label>
      <select id="a-action" name="action">
        <option value="">any</option>
        {ACTIONS.map((a) => (
          <option value={a} selected={a === act}>
            {a}
          </option>
        ))}
      </select>
    </div>
    <button type="submit">Filter</button>
  </form>
);

function actorText(e: AuditEvent): string {
  const a = e.actor;
  if (a.kind === 'site_admin') return 'site admin (API)';
  if (a.kind === 'system') return `system (${a.source})`;
  return a.tokenId === null ? `${a.user} (console)` : `${a.user} (token ${a.tokenId})`;
}

export const AuditTable: FC<{ events: readonly AuditEvent[] }> = ({ events }) =>
  events.length === 0 ? (
    <p>No events match.</p>
  ) : (
    <table>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Action</th>
          <th scope="col">By</th>
          <th scope="col">Org</th>
          <th scope="col">User</th>
          <th scope="col">Token</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr>
            <td>{when(e.at)}</td>
            <td class="mono">{e.action}</td>
            <td>{actorText(e)}</td>
            <td>{e.org ?? ''}</td>
            <td>{e.user ?? ''}</td>
            <td class="mono">{e.tokenId ?? ''}</td>
            <td>{e.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );

export const OrgTokenTable: FC<{
  viewer: Viewer;
  org: string | null;
  tokens: readonly TokenRecord[];
  lastUsed: ReadonlyMap<string, string | null>;
  now: number;
}> = ({ viewer, org, tokens, lastUsed, now }) =>
  tokens.length === 0 ? (
    <p>No tokens match.</p>
  ) : (
    <table>
      <thead>
        <tr>
          <th scope="col">Holder</th>
          <th scope="col">Token</th>
          <th scope="col">Owner</th>
          <th scope="col">Repositories</th>
          <th scope="col">Permissions</th>
          <th scope="col">Status</th>
          <th scope="col">Expires</th>
          <th scope="col">Last used</th>
          {org === null ? null : <th scope="col">Actions</th>}
        </tr>
      </thead>
      <tbody>
        {tokens.map((t) => (
          <tr>
            <td>{t.user}</td>
            <td>
              {t.name}
              <div class="hint mono">{t.id}</div>
            </td>
            <td>{ownerOf(t)}</td>
            <td>{repositoriesText(t)}</td>
            <td>{permissionsText(t)}</td>
            <td>
              <Status status={displayStatus(t, now)} />
              {t.statusReason === undefined ? null : <div class="hint">{`Reason: ${t.statusReason}`}</div>}
            </td>
            <td>{when(t.expiresAt)}</td>
            <td>{when(lastUsed.get(t.id) ?? null)}</td>
            {org === null ? null : (
              <td>
                {t.kind === 'fine_grained' && t.status !== 'revoked' ? (
                  <form class="inline" method="post" action={`/console/orgs/${org}/tokens/${t.id}/revoke`}>
                    <Csrf viewer={viewer} />
                    <button type="submit" class="danger" aria-label={`Revoke ${t.name} of ${t.user}`}>
                      Revoke
                    </button>
                  </form>
                ) : null}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
