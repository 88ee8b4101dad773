import { raw } from 'hono/html';
import type { Child, FC } from 'hono/jsx';
import { CSRF_FIELD } from '../authenticate.js';
import { COPY_SCRIPT_PATH, STYLESHEET_PATH } from './assets.js';
import type { Viewer } from './viewer.js';

export interface LayoutProps {
  readonly title: string;
  readonly viewer: Viewer | null;
  /** The path of the nav entry this page belongs to, marked `aria-current`. */
  readonly current?: string;
  /** Pages that show a secret load the copy script. */
  readonly copyScript?: boolean;
  readonly children?: Child;
}

/** The hidden CSRF field every form that changes something carries. */
export const Csrf: FC<{ viewer: Viewer }> = ({ viewer }) => (
  <input type="hidden" name={CSRF_FIELD} value={viewer.csrf} />
);

const NavLink: FC<{ href: string; current: string | undefined; children?: Child }> = ({
  href,
  current,
  children,
}) => (
  <li>
    <a href={href} aria-current={current === href ? 'page' : undefined}>
      {children}
    </a>
  </li>
);

/** Every page: a skip link, the navigation the person's roles allow, and the content. */
export const Layout: FC<LayoutProps> = ({ title, viewer, current, copyScript, children }) => {
  const adminOf =
    viewer === null ? [] : [...viewer.memberships].filter(([, role]) => role === 'admin').map(([org]) => org);
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${title} · patgate`}</title>
          <link rel="stylesheet" href={STYLESHEET_PATH} />
          {copyScript === true ? <script src={COPY_SCRIPT_PATH} defer /> : null}
        </head>
        <body>
          <a class="skip" href="#content">
            Skip to content
          </a>
          <header class="top">
            <span class="brand">patgate</span>
            {viewer === null ? null : (
              <nav aria-label="Console">
                <ul>
                  <NavLink href="/console/tokens" current={current}>
                    Your tokens
                  </NavLink>
                  <NavLink href="/console/tokens/new" current={current}>
                    New token
                  </NavLink>
                  {adminOf.map((org) => (
                    <NavLink href={`/console/orgs/${org}`} current={current}>
                      {`Org: ${org}`}
                    </NavLink>
                  ))}
                  {viewer.siteAdmin ? (
                    <NavLink href="/console/admin" current={current}>
                      Site admin
                    </NavLink>
                  ) : null}
                </ul>
              </nav>
            )}
            {viewer === null ? null : (
              <div class="who">
                <span>
                  Signed in as <strong>{viewer.user}</strong>
                </span>
                <form class="inline" method="post" action="/console/logout">
                  <Csrf viewer={viewer} />
                  <button type="submit">Sign out</button>
                </form>
              </div>
            )}
          </header>
          <main id="content">
            <h1>{title}</h1>
            {children}
          </main>
        </body>
      </html>
    </>
  );
};

/** A token's or request's state in words (with a mark that only repeats them). */
export const Status: FC<{ status: string }> = ({ status }) => (
  <span class={`status status-${status}`}>{status}</span>
);

export const Notice: FC<{ error?: boolean; children?: Child }> = ({ error, children }) => (
  <div class={error === true ? 'notice error' : 'notice'} role={error === true ? 'alert' : 'status'}>
    {children}
  </div>
);

/** Dates as the API writes them, shortened to the minute (UTC, said so). */
export function when(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return 'never';
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}
