import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DemoIdentityProvider, startDemoIdentityProvider } from '../../src/cli/demo-oidc.js';
import { runCli } from '../helpers/gateway-process.js';

// `patgate demo`'s identity provider (oidc-provider with the demo's own store and signing key):
// a whole authorization-code sign-in with PKCE, as the console makes it, through openid-client,
// which checks the ID token's signature against the provider's JWKS.

const REDIRECT = 'http://127.0.0.1:9/console/callback';

let provider: DemoIdentityProvider;

beforeAll(async () => {
  provider = await startDemoIdentityProvider(REDIRECT);
});

afterAll(async () => {
  await provider?.close();
});

/** A browser's cookie jar, reduced to what one provider on one host needs. */
class Jar {
  readonly #cookies = new Map<string, string>();

  keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0] ?? '';
      const at = pair.indexOf('=');
      if (at > 0) this.#cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

describe('the demo identity provider', () => {
  it('signs a demo person in with a code and PKCE, and its ID token verifies against its JWKS', async () => {
    // oidc-provider says what it would rather have configured on the console; the demo says nothing.
    const notices = vi.spyOn(console, 'info');
    const config = await client.discovery(
      new URL(provider.issuer),
      provider.clientId,
      provider.clientSecret,
      undefined,
      { execute: [client.allowInsecureRequests] },
    );
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const start = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });

    const jar = new Jar();
    const visit = async (url: string, init: RequestInit = {}): Promise<Response> => {
      const res = await fetch(new URL(url, provider.issuer), {
        ...init,
        redirect: 'manual',
        headers: { ...init.headers, cookie: jar.header() },
      });
      jar.keep(res);
      return res;
    };
    const toLogin = await visit(start.href);
    expect(toLogin.status).toBe(303);
    const interaction = toLogin.headers.get('location') ?? '';
    expect(interaction).toMatch(/^\/interaction\/[A-Za-z0-9_-]+$/);
    const page = await visit(interaction);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sign in as Alice');

    const chosen = await visit(interaction, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'account=alice',
    });
    expect(chosen.status).toBe(303);
    const resumed = await visit(chosen.headers.get('location') ?? '');
    expect(resumed.status).toBe(303);
    const back = new URL(resumed.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);

    const tokens = await client.authorizationCodeGrant(config, back, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()?.sub).toBe('alice');
    // The key is this run's own: the JWKS publishes it, and nothing else.
    const jwks = (await (await fetch(new URL('/jwks', provider.issuer))).json()) as {
      keys: { kid: string; kty: string; d?: string }[];
    };
    expect(jwks.keys.map((k) => [k.kid, k.kty, k.d])).toEqual([['demo', 'RSA', undefined]]);
    expect(notices.mock.calls.map((call) => String(call[0]))).toEqual([]);
    notices.mockRestore();
  });
});

describe('patgate demo --once', () => {
  it('runs the tour with the outcomes it promises, and says nothing on stderr', async () => {
    const { code, stdout, stderr } = await runCli(['demo', '--once', '--port', '0', '--admin-port', '0']);
    expect(code).toBe(0);
    // No development-only warning of the identity provider, no stray log line.
    expect(stderr).toBe('');
    const outcomes = stdout.split('\n').filter((line) => line.startsWith('#   -> '));
    expect(outcomes.length).toBeGreaterThanOrEqual(10);
    expect(outcomes[0]).toBe('#   -> 200: forwarded; upstream saw user=null');
    expect(outcomes).toContain('#   -> 200: forwarded; upstream saw user=alice');
    expect(
      outcomes.some((line) => line.startsWith('#   -> 403 (X-Accepted-Permissions: issues=write)')),
    ).toBe(true);
    expect(outcomes.some((line) => line.startsWith('#   -> 404'))).toBe(true);
    expect(outcomes.some((line) => line.startsWith('#   -> 401'))).toBe(true);
    expect(stdout).toMatch(/^Console: http:\/\/127\.0\.0\.1:\d+\/console\/$/m);
  });
});
