import type { Context, MiddlewareHandler } from 'hono';
import type { AdminApp, AdminEnv } from '../../admin/context.js';
import { HttpProblem } from '../../admin/http.js';
import { MAX_TOKEN_LIFETIME_DAYS } from '../../admin/token-input.js';
import type { TokenRecord } from '../../grants/token-record.js';
import { isTokenId } from '../../tokens/format.js';
import { featureEntries } from './catalogue.js';
import type { PagesDeps } from './deps.js';
import { Csrf, Layout, Notice, Status, when } from './layout.js';
import { NewTokenForm, type OwnerChoice } from './new-token-form.js';
import { draftFromTemplate, type FormFields, parseTokenForm, type TokenDraft } from './token-form.js';
import { displayStatus, ownerOf, permissionsText, repositoriesText } from './token-view.js';
import { actorOf, mayAdminister, type Viewer, viewerOf } from './viewer.js';

const DAY_MS = 86_400_000;

/** What a created or regenerated token's answer carries that the secret page shows. */
interface IssuedToken {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly resource_owner?: string;
  readonly expires_at: string;
  readonly token: string;
}

function tokenIdOf(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!isTokenId(id)) throw new HttpProblem(404, 'not_found', 'Not Found', 'no such token');
  return id;
}

/** Pages for a person's own tokens: the list, the new-token form, the secret shown once. */
export function registerTokenPages(app: AdminApp, deps: PagesDeps, page: PageGuard): void {
  const { store, api, now } = deps;

  /**
   * The owners the person may make tokens for (themself and their orgs), with each one's rules
   * and known repositories. An org's admins (and site admins) see every repository its tokens
   * name, as its token pages show them; anyone else only those their own tokens name, so the
   * form does not reveal what other members' tokens reach (information disclosure).
   */
  async function ownerChoices(viewer: Viewer): Promise<OwnerChoice[]> {
    const names = [viewer.user, ...[...viewer.memberships.keys()].filter((o) => o !== viewer.user)];
    return Promise.all(
      names.map(async (name): Promise<OwnerChoice> => {
        const orgWide = name !== viewer.user && mayAdminister(viewer, name);
        const [policy, tokens] = await Promise.all([
          name === viewer.user ? Promise.resolve(null) : store.getOrgPolicy(name),
          store.listTokens(orgWide ? { resourceOwner: name } : { resourceOwner: name, user: viewer.user }),
        ]);
        const known = new Set<string>();
        for (const t of tokens)
          if (t.kind === 'fine_grained' && t.repositories !== 'all')
            for (const r of t.repositories) known.add(r);
        const maxDays = Math.min(policy?.maxLifetimeDays ?? MAX_TOKEN_LIFETIME_DAYS, MAX_TOKEN_LIFETIME_DAYS);
        const latest = new Date(now() + maxDays * DAY_MS).toISOString().slice(0, 10);
        const rules =
          policy?.fineGrainedTokens === 'blocked'
            ? 'blocks fine-grained tokens'
            : `tokens of at most ${maxDays} days (latest expiry ${latest})` +
              (policy?.requireApproval === true
                ? '; an admin of the organization approves each token first'
                : '');
        return { name, rules, knownRepositories: [...known].sort() };
      }),
    );
  }

  async function renderForm(
    c: Context<AdminEnv>,
    draft: TokenDraft,
    error: string | null,
    status: 200 | 400 | 422,
  ) {
    const viewer = viewerOf(c);
    const routes = deps.routes();
    return c.html(
      <Layout title="New fine-grained token" viewer={viewer} current="/console/tokens/new">
        <NewTokenForm
          viewer={viewer}
          draft={draft}
          owners={await ownerChoices(viewer)}
          features={featureEntries(deps.features(), routes.matcher.rules)}
          error={error}
        />
      </Layout>,
      status,
    );
  }

  function renderSecret(c: Context<AdminEnv>, issued: IssuedToken, verb: 'created' | 'regenerated') {
    const viewer = viewerOf(c);
    return c.html(
      <Layout title={`Token ${verb}`} viewer={viewer} current="/console/tokens" copyScript>
        <Notice>
          Copy the token now: it is shown only on this page, and leaving the page loses it. patgate keeps only
          its hash.
        </Notice>
        {issued.status === 'pending' ? (
          <Notice>
            This token is <strong>pending</strong>: it works once an admin of{' '}
            {issued.resource_owner ?? 'the organization'} approves it.
          </Notice>
        ) : null}
        <label for="token-secret">{`Token "${issued.name}" (${issued.id}), expires ${when(issued.expires_at)}`}</label>
        <input type="text" id="token-secret" class="secret" readonly value={issued.token} />
        <p>
          <button type="button" data-copy="token-secret" hidden>
            Copy token
          </button>{' '}
          <span id="token-secret-status" role="status" aria-live="polite" />
        </p>
        <p>
          <a href="/console/tokens">Back to your tokens</a>
        </p>
      </Layout>,
      200,
    );
  }

  // `/console/` is the address people type and the demo prints; both open the token list.
  app.get('/console', page, (c) => c.redirect('/console/tokens', 303));
  app.get('/console/', page, (c) => c.redirect('/console/tokens', 303));

  app.get('/console/tokens', page, async (c) => {
    const viewer = viewerOf(c);
    const [tokens, invitations] = await Promise.all([
      store.listTokens({ user: viewer.user }),
      store.listInvitations({ user: viewer.user }),
    ]);
    const lastUsed = await Promise.all(tokens.map((t) => store.getLastUsed(t.id)));
    const at = now();
    return c.html(
      <Layout title="Your tokens" viewer={viewer} current="/console/tokens">
        {invitations.length === 0 ? null : (
          <section aria-labelledby="invitations">
            <h2 id="invitations">Invitations</h2>
            <ul>
              {invitations.map((i) => (
                <li>
                  {`${i.org} invites you as ${i.role} (until ${when(i.expiresAt)}) `}
                  <form class="inline" method="post" action={`/console/invitations/${i.org}/accept`}>
                    <Csrf viewer={viewer} />
                    <button type="submit">{`Join ${i.org}`}</button>
                  </form>
                </li>
              ))}
            </ul>
          </section>
        )}
        <p>
          <a class="button" href="/console/tokens/new">
            Generate new token
          </a>
        </p>
        {tokens.length === 0 ? (
          <p>You have no tokens yet.</p>
        ) : (
          <TokenTable viewer={viewer} tokens={tokens} lastUsed={lastUsed} now={at} />
        )}
      </Layout>,
    );
  });

  app.get('/console/tokens/new', page, async (c) => {
    const viewer = viewerOf(c);
    return renderForm(c, draftFromTemplate(c.req.query(), viewer.user, now()), null, 200);
  });

  app.post('/console/tokens', page, async (c) => {
    const viewer = viewerOf(c);
    const form = (await c.req.parseBody({ all: true })) as FormFields;
    const parsed = parseTokenForm(form);
    if (parsed.input === null) return renderForm(c, parsed.draft, parsed.error, 400);
    try {
      const issued = await api.call<IssuedToken>(actorOf(viewer), 'POST', '/v1/user/tokens', parsed.input);
      return renderSecret(c, issued, 'created');
    } catch (error) {
      if (error instanceof HttpProblem && error.status < 500) {
        return renderForm(c, parsed.draft, error.detail, error.status === 422 ? 422 : 400);
      }
      throw error;
    }
  });

  app.post('/console/tokens/:id/revoke', page, async (c) => {
    const viewer = viewerOf(c);
    await api.call(actorOf(viewer), 'DELETE', `/v1/user/tokens/${tokenIdOf(c)}`);
    return c.redirect('/console/tokens', 303);
  });

  app.post('/console/tokens/:id/regenerate', page, async (c) => {
    const viewer = viewerOf(c);
    const issued = await api.call<IssuedToken>(
      actorOf(viewer),
      'POST',
      `/v1/user/tokens/${tokenIdOf(c)}/regenerate`,
    );
    return renderSecret(c, issued, 'regenerated');
  });

  app.post('/console/invitations/:org/accept', page, async (c) => {
    const viewer = viewerOf(c);
    const org = (c.req.param('org') ?? '').toLowerCase();
    await api.call(actorOf(viewer), 'POST', `/v1/user/invitations/${encodeURIComponent(org)}/accept`);
    return c.redirect('/console/tokens', 303);
  });
}

/** The middleware every page route carries (viewer, CSRF on posts). */
export type PageGuard = MiddlewareHandler<AdminEnv>;

const TokenTable = ({
  viewer,
  tokens,
  lastUsed,
  now,
}: {
  viewer: Viewer;
  tokens: readonly TokenRecord[];
  lastUsed: readonly (string | null)[];
  now: number;
}) => (
  <table>
    <caption class="skip">Your tokens</caption>
    <thead>
      <tr>
        <th scope="col">Name</th>
        <th scope="col">Owner</th>
        <th scope="col">Repositories</th>
        <th scope="col">Permissions</th>
        <th scope="col">Status</th>
        <th scope="col">Expires</th>
        <th scope="col">Last used</th>
        <th scope="col">Actions</th>
      </tr>
    </thead>
    <tbody>
      {tokens.map((t, i) => {
        const status = displayStatus(t, now);
        return (
          <tr>
            <td>
              {t.name}
              {t.description === undefined ? null : <div class="hint description">{t.description}</div>}
              <div class="hint mono">{t.id}</div>
            </td>
            <td>{ownerOf(t)}</td>
            <td>{repositoriesText(t)}</td>
            <td>{permissionsText(t)}</td>
            <td>
              <Status status={status} />
              {t.statusReason !== undefined && (t.status === 'denied' || t.status === 'revoked') ? (
                <div class="hint">{`Reason: ${t.statusReason}`}</div>
              ) : null}
            </td>
            <td>{when(t.expiresAt)}</td>
            <td>{when(lastUsed[i])}</td>
            <td>
              {t.status === 'revoked' || t.status === 'denied' ? null : (
                <>
                  <form class="inline" method="post" action={`/console/tokens/${t.id}/regenerate`}>
                    <Csrf viewer={viewer} />
                    <button type="submit" aria-label={`Regenerate ${t.name}`}>
                      Regenerate
                    </button>
                  </form>{' '}
                  <form class="inline" method="post" action={`/console/tokens/${t.id}/revoke`}>
                    <Csrf viewer={viewer} />
                    <button type="submit" class="danger" aria-label={`Revoke ${t.name}`}>
                      Revoke
                    </button>
                  </form>
                </>
              )}
            </td>
          </tr>
        );
      })}
    </tbody>
  </table>
);
