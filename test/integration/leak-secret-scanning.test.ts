import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ofType, Receiver, webhooksConfig } from './events-receiver.js';

// GitHub's secret scanning partner endpoint on a real gateway (Redis store): a key pair
// made here stands in for GitHub's, its public half configured as GitHub publishes it.
const KEY_ID = 'test-key-1';
let signing: KeyObject;
let stranger: KeyObject;
let redis: TestRedis;
let upstream: TestUpstream;
let gateway: GatewayProcess;
let receiver: Receiver;

beforeAll(async () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  signing = pair.privateKey;
  stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  [redis, upstream, receiver] = await Promise.all([
    startRedisServer(),
    startTestUpstream(),
    new Receiver().start(),
  ]);
  gateway = await startGateway(
    `${stackConfig({ store: 'redis', keyPrefix: 'scan:', commandTimeoutMs: 2_000 }, upstream.url, redis.url)}${webhooksConfig()}` +
      `secret_scanning:\n  per_address_per_hour: 14\n  public_keys:\n` +
      `    - key_identifier: "${KEY_ID}"\n      key: ${JSON.stringify(pem)}\n      is_current: true\n`,
  );
  const sub = await admin(gateway.adminUrl, 'POST', '/v1/webhooks', {
    url: receiver.url,
    events: ['token.leaked'],
  });
  expect(sub.status).toBe(201);
});

afterAll(async () => {
  await Promise.allSettled([gateway?.stop(), receiver?.close()]);
  await Promise.allSettled([upstream?.close(), redis?.stop()]);
});

/** GitHub's signature: ECDSA P-256 SHA-256 over the raw body, DER, base64. */
function signed(body: string, key: KeyObject = signing, keyId = KEY_ID): Record<string, string> {
  return {
    'content-type': 'application/json',
    'github-public-key-identifier': keyId,
    'github-public-key-signature': sign('sha256', Buffer.from(body), { key, dsaEncoding: 'der' }).toString(
      'base64',
    ),
  };
}

function scan(body: string, headers: Record<string, string>) {
  return call(gateway.url, 'POST', '/_patgate/secret-scanning', { headers, body });
}

const matchOf = (token: string) => ({
  token,
  type: 'patgate_fine_grained_token',
  url: 'https://github.com/octocat/hello/blob/0123456789abcdef/config.yml',
  source: 'content',
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const tokenFor = (user: string) =>
  createToken(gateway.adminUrl, {
    user,
    resource_owner: 'acme',
    repositories: 'all',
    permissions: { contents: 'read' },
  });

describe('POST /_patgate/secret-scanning', () => {
  it('revokes a live token from a signed report, labels it true_positive and sends token.leaked', async () => {
    const leaked = await tokenFor('alice');
    const unknown = 'pgt_000000000000000000000000000000000000';
    const body = JSON.stringify([matchOf(leaked.token), matchOf(unknown), matchOf('not-a-token')]);
    const seen = upstream.requests.length;
    const answer = await scan(body, signed(body));
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual([
      { token_hash: sha256(leaked.token), token_type: 'patgate_fine_grained_token', label: 'true_positive' },
      { token_hash: sha256(unknown), token_type: 'patgate_fine_grained_token', label: 'false_positive' },
      {
        token_hash: sha256('not-a-token'),
        token_type: 'patgate_fine_grained_token',
        label: 'false_positive',
      },
    ]);
    // The answer never echoes a secret.
    expect(answer.text).not.toContain(leaked.token);
    expect(upstream.requests.length).toBe(seen);

    const record = await admin(gateway.adminUrl, 'GET', `/v1/tokens/${leaked.id}`);
    expect([record.body.status, record.body.status_reason]).toEqual(['revoked', 'reported leaked']);
    expect((await call(gateway.url, 'GET', '/repos/acme/api', { token: leaked.token })).status).toBe(401);

    const event = (await receiver.next(ofType('token.leaked', leaked.id))).json();
    expect(event.data).toMatchObject({
      org: 'acme',
      token_id: leaked.id,
      user: 'alice',
      reason: 'reported leaked',
      actor: { kind: 'system', source: 'secret_scanning' },
    });
    const audit = await admin(gateway.adminUrl, 'GET', `/v1/audit?token=${leaked.id}`);
    expect(audit.body.events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'token.leak',
          actor: { kind: 'system', source: 'secret_scanning' },
        }),
      ]),
    );

    // Reported again: no longer live, so labelled like an unknown token.
    const again = await scan(body, signed(body));
    expect(again.json()).toEqual([
      expect.objectContaining({ label: 'false_positive' }),
      expect.objectContaining({ label: 'false_positive' }),
      expect.objectContaining({ label: 'false_positive' }),
    ]);
  });

  it('gives an unknown, an expired-by-revocation and a malformed token the same answer', async () => {
    const revoked = await tokenFor('bob');
    expect((await admin(gateway.adminUrl, 'DELETE', `/v1/tokens/${revoked.id}`)).status).toBe(200);
    const label = async (token: string) => {
      const body = JSON.stringify([{ token, type: 't', url: '', source: 'commit' }]);
      const answer = await scan(body, signed(body));
      return [
        answer.status,
        answer.headers['content-type'],
        (answer.json() as unknown as { label: string }[])[0]?.label,
      ];
    };
    const expected = [200, 'application/json; charset=utf-8', 'false_positive'];
    expect(await label(revoked.token)).toEqual(expected);
    expect(await label('pgt_000000000000000000000000000000000001')).toEqual(expected);
    expect(await label('ghp_abc')).toEqual(expected);
  });

  it('refuses a bad, foreign or missing signature and revokes nothing', async () => {
    const target = await tokenFor('carol');
    const body = JSON.stringify([matchOf(target.token)]);
    const tampered = JSON.stringify([matchOf(target.token), matchOf(target.token)]);
    const answers = [
      // Signed by a key that is not configured, under the configured identifier.
      await scan(body, signed(body, stranger)),
      // A valid signature of another body.
      await scan(tampered, signed(body)),
      // An identifier that is not configured.
      await scan(body, signed(body, signing, 'unknown-key')),
      // Not base64.
      await scan(body, { ...signed(body), 'github-public-key-signature': '!!!' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401]);
    for (const a of answers) expect(a.headers['content-type']).toBe('application/problem+json');
    const missing = await scan(body, { 'content-type': 'application/json' });
    expect(missing.status).toBe(400);
    const record = await admin(gateway.adminUrl, 'GET', `/v1/tokens/${target.id}`);
    expect(record.body.status).toBe('active');
    expect((await call(gateway.url, 'GET', '/repos/acme/api', { token: target.token })).status).toBe(200);
  });

  it("refuses a signed body that is not GitHub's format with 422, and takes POST only", async () => {
    const body = JSON.stringify({ credentials: ['x'] });
    expect((await scan(body, signed(body))).status).toBe(422);
    const get = await call(gateway.url, 'GET', '/_patgate/secret-scanning');
    expect(get.status).toBe(405);
  });

  it('limits requests per client address', async () => {
    const body = JSON.stringify([matchOf('pgt_000000000000000000000000000000000002')]);
    let last = await scan(body, signed(body));
    // The budget (14 an hour) is shared with the calls above; spend the rest.
    for (let i = 0; i < 20 && last.status !== 429; i++) last = await scan(body, signed(body));
    expect(last.status).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
  });
});
