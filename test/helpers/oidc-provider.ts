import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Account } from 'oidc-provider';

/** A test person: the claims the provider holds for them (`sub` is the account id). */
export type TestAccounts = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface TestOidcProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Account ids that completed a login at the provider, in order. */
  readonly logins: string[];
  close(): Promise<void>;
}

export interface StartOidcProviderOptions {
  /** The console callbacks registered for the test client (`{public_url}/console/callback`). */
  readonly redirectUris: readonly string[];
  readonly accounts: TestAccounts;
}

/** The interaction page: `GET /interaction/{uid}?login={account}` logs that account in. */
export const INTERACTION_PATH = /^\/interaction\/[^/]+$/;

/**
 * A real OpenID Connect provider (`oidc-provider`) on a free 127.0.0.1 port, with
 * one confidential client (client_secret_basic, PKCE required) and the given
 * accounts. Its login page is programmatic: the test browser adds `?login=` to the
 * interaction URL the provider redirects to, and the provider finishes the
 * interaction (login and consent) for that account; an unknown account is a 400.
 */
export async function startOidcProvider(options: StartOidcProviderOptions): Promise<TestOidcProvider> {
  const { accounts } = options;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'patgate-console';
  const clientSecret = 'test-oidc-client-secret-0123456789';
  const logins: string[] = [];

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [...options.redirectUris],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(_ctx, sub): Promise<Account | undefined> {
      const claims = Object.hasOwn(accounts, sub) ? accounts[sub] : undefined;
      if (claims === undefined) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: ['patgate-test-provider-cookie-key'] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  // Quiet: a failed test sign-in is asserted on, not printed.
  provider.on('server_error', () => {});

  const callback = provider.callback();
  async function login(req: IncomingMessage, res: ServerResponse, account: string | null): Promise<void> {
    try {
      const details = await provider.interactionDetails(req, res);
      if (account === null || !Object.hasOwn(accounts, account)) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown test account');
        return;
      }
      const grant = new provider.Grant({ accountId: account, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      logins.push(account);
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    }
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && INTERACTION_PATH.test(url.pathname)) {
      void login(req, res, url.searchParams.get('login'));
      return;
    }
    void callback(req, res);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    logins,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
