import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { demoOidcStore } from './demo-oidc-store.js';

/** The demo's people: the account id is the login the console signs in. */
export const DEMO_PEOPLE: Readonly<Record<string, string>> = {
  alice: 'Alice, admin of acme (and site admin)',
  bob: 'Bob, member of acme',
};

export interface DemoIdentityProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  close(): Promise<void>;
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)$/;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The provider's sign-in page: pick a demo person (no passwords, it is a demo). */
function loginPage(uid: string): string {
  const buttons = Object.entries(DEMO_PEOPLE)
    .map(
      ([login, who]) =>
        `<p><button type="submit" name="account" value="${login}">Sign in as ${escapeHtml(who)}</button></p>`,
    )
    .join('');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Demo identity provider</title></head>
<body><main><h1>Demo identity provider</h1><p>Choose who you are.</p>
<form method="post" action="/interaction/${uid}">${buttons}</form></main></body></html>`;
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 4096) break;
  }
  return new URLSearchParams(text);
}

/**
 * A real OpenID Connect provider (`oidc-provider`) on 127.0.0.1 for `patgate demo`, with
 * one confidential client for the console and the demo people. Its sign-in page lets you
 * pick a person; the console then signs in exactly as it would against any provider.
 */
export async function startDemoIdentityProvider(redirectUri: string): Promise<DemoIdentityProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'patgate-demo-console';
  const clientSecret = randomBytes(24).toString('base64url');
  // A signing key of this run's own (ID tokens are RS256 unless a client asks otherwise).
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    adapter: demoOidcStore(),
    // Lifetimes in seconds, said rather than left to defaults (which the provider asks to be set).
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 3_600,
      Grant: 3_600,
    },
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'demo', use: 'sig', alg: 'RS256' }] },
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(_ctx, sub) {
      if (!Object.hasOwn(DEMO_PEOPLE, sub)) return undefined;
      return { accountId: sub, claims: async () => ({ sub, preferred_username: sub }) };
    },
    claims: { openid: ['sub'], profile: ['preferred_username'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(24).toString('base64url')] },
  });
  // The demo prints nothing of the provider's own errors; a failed sign-in shows in the browser.
  provider.on('server_error', () => {});
  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) throw new Error('interaction mismatch');
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(loginPage(uid));
        return;
      }
      const account = (await formBody(req)).get('account') ?? '';
      if (!Object.hasOwn(DEMO_PEOPLE, account)) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown demo person');
        return;
      }
      const grant = new provider.Grant({ accountId: account, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    } catch {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('this sign-in expired; start again from the console');
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const uid = INTERACTION.exec(new URL(req.url ?? '/', issuer).pathname)?.[1];
    if (uid !== undefined && (req.method === 'GET' || req.method === 'POST')) {
      void interaction(req, res, uid);
      return;
    }
    void callback(req, res);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
