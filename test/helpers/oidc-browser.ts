import { request } from 'undici';
import { INTERACTION_PATH } from './oidc-provider.js';

export interface BrowserResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly url: string;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface BrowserRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * Just enough of a browser for the sign-in flow: a cookie jar per origin (every
 * cookie of an origin is sent to it; paths and expiry other than deletion are not
 * modelled) and redirects followed by hand, so each hop is a real HTTP exchange.
 * `Secure` cookies are sent over http:// as browsers do for 127.0.0.1.
 */
export class TestBrowser {
  readonly #jars = new Map<string, Map<string, string>>();

  /** The cookies this browser holds for `origin` (e.g. `http://127.0.0.1:8083`). */
  cookies(origin: string): ReadonlyMap<string, string> {
    return this.#jars.get(origin) ?? new Map();
  }

  setCookie(origin: string, name: string, value: string): void {
    this.#jar(origin).set(name, value);
  }

  /** One request, no redirects followed. */
  async fetch(url: string, init: BrowserRequest = {}): Promise<BrowserResponse> {
    const target = new URL(url);
    const jar = this.#jar(target.origin);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await request(target, {
      method: (init.method ?? 'GET') as 'GET',
      headers: { ...(cookie === '' ? {} : { cookie }), ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const setCookies = res.headers['set-cookie'];
    for (const line of setCookies === undefined
      ? []
      : Array.isArray(setCookies)
        ? setCookies
        : [setCookies]) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const deleted = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (deleted || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      url: target.href,
      text,
      json: <T>() => JSON.parse(text) as T,
    };
  }

  /**
   * Follows redirects from `url` until an answer that is not one. On the
   * provider's interaction page it logs in as `account` (the test provider's
   * programmatic login). Returns every response, the last one last.
   */
  async follow(url: string, account: string, maxHops = 12): Promise<BrowserResponse[]> {
    const hops: BrowserResponse[] = [];
    let next = url;
    for (let i = 0; i < maxHops; i++) {
      const target = new URL(next);
      if (INTERACTION_PATH.test(target.pathname)) target.searchParams.set('login', account);
      const res = await this.fetch(target.href);
      hops.push(res);
      const location = res.headers.location;
      if (res.status < 300 || res.status >= 400 || typeof location !== 'string') return hops;
      next = new URL(location, target).href;
    }
    throw new Error(`more than ${maxHops} redirects from ${url}`);
  }

  #jar(origin: string): Map<string, string> {
    let jar = this.#jars.get(origin);
    if (jar === undefined) {
      jar = new Map();
      this.#jars.set(origin, jar);
    }
    return jar;
  }
}

/**
 * Signs `account` in to the console at `consoleUrl` through the OIDC provider, and
 * reads the session's CSRF token. Throws with every hop if the sign-in does not end
 * on `/console/session`.
 */
export async function signIn(
  browser: TestBrowser,
  consoleUrl: string,
  account: string,
): Promise<{ user: string; csrf: string; hops: BrowserResponse[] }> {
  const hops = await browser.follow(`${consoleUrl}/console/login`, account);
  const last = hops[hops.length - 1];
  if (last === undefined || last.status !== 200 || new URL(last.url).pathname !== '/console/session') {
    throw new Error(
      `sign-in of ${account} failed:\n${hops.map((h) => `${h.status} ${h.url}\n${h.text.slice(0, 300)}`).join('\n')}`,
    );
  }
  const body = last.json<{ user: string; csrf_token: string }>();
  return { user: body.user, csrf: body.csrf_token, hops };
}
