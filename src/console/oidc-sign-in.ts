import * as oidc from 'openid-client';
import { HttpProblem } from '../admin/http.js';
import type { PendingSignIn } from '../store/session-store.js';

export interface OidcSignInOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The claim naming the patgate user (`sub` unless configured). */
  readonly userClaim: string;
  /** `{public_url}/console/callback`, registered at the provider. */
  readonly redirectUri: string;
}

/** Why a sign-in did not finish; the route answers each with its own problem. */
export class SignInError extends Error {
  constructor(
    readonly code: 'provider_unavailable' | 'sign_in_failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SignInError';
  }
}

/**
 * OpenID Connect sign-in (authorization code flow with PKCE S256, state and
 * nonce), as a relying party of one provider, with `openid-client`. The
 * provider's metadata is discovered on first use and kept; a failed discovery is
 * retried on the next sign-in, so the console starts while the provider is down.
 */
export class OidcSignIn {
  readonly #options: OidcSignInOptions;
  #config: Promise<oidc.Configuration> | null = null;

  constructor(options: OidcSignInOptions) {
    this.#options = options;
  }

  /** The provider's authorization URL, and what the callback must check it against. */
  async begin(returnTo: string): Promise<{ url: URL; pending: PendingSignIn }> {
    const config = await this.#configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const pending: PendingSignIn = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier,
      returnTo,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#options.redirectUri,
      response_type: 'code',
      // `sub` is in every ID token; another claim usually comes with the profile scope.
      scope: this.#options.userClaim === 'sub' ? 'openid' : 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url, pending };
  }

  /**
   * Redeems the code in `callbackUrl` (checking state, PKCE, nonce and the ID
   * token) and returns the value of the user claim: from the ID token, or else
   * from the userinfo endpoint.
   */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<unknown> {
    const config = await this.#configuration();
    const claim = this.#options.userClaim;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (claims === undefined) throw new Error('no ID token');
      if (claims[claim] !== undefined) return claims[claim];
      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      return info[claim];
    } catch (cause) {
      // fetch failing is the network; everything else is the answer's fault.
      if (cause instanceof TypeError) {
        throw new SignInError('provider_unavailable', 'the identity provider cannot be reached', { cause });
      }
      throw new SignInError('sign_in_failed', describe(cause), { cause });
    }
  }

  #configuration(): Promise<oidc.Configuration> {
    if (this.#config === null) {
      const { issuer, clientId, clientSecret } = this.#options;
      const attempt = oidc
        .discovery(
          new URL(issuer),
          clientId,
          undefined,
          oidc.ClientSecretBasic(clientSecret),
          // The schema allows http:// issuers on loopback hosts only.
          issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : undefined,
        )
        .catch((cause: unknown) => {
          this.#config = null;
          throw new SignInError('provider_unavailable', `OIDC discovery at ${issuer} failed`, { cause });
        });
      this.#config = attempt;
    }
    return this.#config;
  }
}

function describe(error: unknown): string {
  if (error instanceof oidc.ResponseBodyError) return `${error.error}: ${error.error_description ?? ''}`;
  if (error instanceof oidc.AuthorizationResponseError) {
    return `${error.error}: ${error.error_description ?? ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The answer to a failed sign-in: the provider's words go to the log, not the browser. */
export function signInProblem(error: SignInError): HttpProblem {
  return error.code === 'provider_unavailable'
    ? new HttpProblem(
        503,
        'provider_unavailable',
        'Identity provider unavailable',
        'the identity provider cannot be reached; try again',
      )
    : new HttpProblem(
        401,
        'sign_in_failed',
        'Sign-in failed',
        'the sign-in did not complete; start again at /console/login',
      );
}
