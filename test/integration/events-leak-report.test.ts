import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { buildLeakReports, type LeakReports } from '../../src/leaks/leak-runtime.js';
import { createLogger } from '../../src/observability/logger.js';
import { RedisAuditLog } from '../../src/store/redis-audit-log.js';
import { RedisGrantStore } from '../../src/store/redis-store.js';
import { eventStreamKey } from '../../src/store/webhook-redis-store.js';
import { generateToken } from '../../src/tokens/format.js';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { admin, call, createToken, stackConfig } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';
import { ofType, Receiver, webhooksConfig } from './events-receiver.js';

// The handler runs in this process against the Redis a real gateway uses: the
// gateway then refuses the token, and its delivery worker sends `token.leaked`.
const PREFIX = 'leak:';
let redis: TestRedis;
let upstream: TestUpstream;
let gateway: GatewayProcess;
let receiver: Receiver;
let store: RedisGrantStore;
let audit: RedisAuditLog;
let leaks: LeakReports;

beforeAll(async () => {
  [redis, upstream, receiver] = await Promise.all([
    startRedisServer(),
    startTestUpstream(),
    new Receiver().start(),
  ]);
  const configText =
    stackConfig({ store: 'redis', keyPrefix: PREFIX, commandTimeoutMs: 2_000 }, upstream.url, redis.url) +
    webhooksConfig() +
    'leak_reports:\n  per_address_per_hour: 3\n';
  gateway = await startGateway(configText);
  store = new RedisGrantStore({ url: redis.url, keyPrefix: PREFIX, commandTimeoutMs: 1000 });
  audit = new RedisAuditLog({
    url: redis.url,
    keyPrefix: PREFIX,
    commandTimeoutMs: 1000,
    maxEvents: 1000,
    eventStream: { key: eventStreamKey(PREFIX), maxLen: 1000 },
  });
  const parsed = parseConfigText(configText, 'test');
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const { config } = parsed.parsed;
  leaks = buildLeakReports({ config, store, audit, logger: createLogger('silent'), memory: false });
  const sub = await admin(gateway.adminUrl, 'POST', '/v1/webhooks', {
    url: receiver.url,
    events: ['token.leaked'],
  });
  expect(sub.status).toBe(201);
});

afterAll(async () => {
  await leaks?.close();
  await Promise.allSettled([store?.close(), audit?.close(), gateway?.stop(), receiver?.close()]);
  await Promise.allSettled([upstream?.close(), redis?.stop()]);
});

const report = (credentials: unknown, address = '198.51.100.7') =>
  leaks.revoker.handle(Buffer.from(JSON.stringify({ credentials })), address);

describe('leak reports: POST /_patgate/credentials/revoke', () => {
  it('revokes a reported live token with reason "reported leaked", audits it and sends token.leaked', async () => {
    const leaked = await createToken(gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    const kept = await createToken(gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    expect((await call(gateway.url, 'GET', '/repos/acme/api', { token: leaked.token })).status).toBe(200);

    const answer = await report([leaked.token, 'pgt_not-a-token', leaked.token, 'ghp_someone_elses']);
    expect(answer).toEqual({ status: 202, headers: expect.any(Object), body: '{}' });

    const event = await receiver.next(ofType('token.leaked', leaked.id));
    expect(event.json().data).toMatchObject({
      org: 'acme',
      token_id: leaked.id,
      user: 'alice',
      reason: 'reported leaked',
    });
    expect(event.body).not.toContain(leaked.token);

    const record = await admin(gateway.adminUrl, 'GET', `/v1/tokens/${leaked.id}`);
    expect(record.body).toMatchObject({ status: 'revoked' });
    expect(JSON.stringify(record.body)).toContain('reported leaked');
    const refused = await call(gateway.url, 'GET', '/repos/acme/api', { token: leaked.token });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('reported leaked');
    expect((await call(gateway.url, 'GET', '/repos/acme/api', { token: kept.token })).status).toBe(200);

    const log = await admin(gateway.adminUrl, 'GET', `/v1/orgs/acme/audit`);
    const entries = log.body.events as Record<string, unknown>[];
    expect(entries.find((e) => e.action === 'token.leak' && e.token_id === leaked.id)).toMatchObject({
      actor: { kind: 'system', source: 'leak_report' },
      reason: 'reported leaked',
    });
  });

  it('answers the same whether or not any credential existed', async () => {
    const live = await createToken(gateway.adminUrl, {
      user: 'bob',
      resource_owner: 'bob',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    const known = await report([live.token], '203.0.113.1');
    const unknown = await report([generateToken('fine_grained')], '203.0.113.2');
    const malformed = await report(['pgt_0000'], '203.0.113.3');
    expect(unknown).toEqual(known);
    expect(malformed).toEqual(known);
    await receiver.next(ofType('token.leaked', live.id));
    // Reporting it again (already revoked) still answers the same, and sends nothing more.
    expect(await report([live.token], '203.0.113.4')).toEqual(known);
    await leaks.revoker.idle();
    expect(receiver.requests.filter(ofType('token.leaked', live.id))).toHaveLength(1);
  });

  it('limits reports per client address (3 an hour here) and refuses bad reports', async () => {
    const address = '192.0.2.55';
    for (let i = 0; i < 3; i++) expect((await report([generateToken('classic')], address)).status).toBe(202);
    const limited = await report([generateToken('classic')], address);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await report([generateToken('classic')], '192.0.2.56')).status).toBe(202);

    expect((await report([])).status).toBe(422);
    expect((await report(Array.from({ length: 1001 }, () => 'x'))).status).toBe(422);
    expect((await report([1, 2])).status).toBe(422);
    expect((await leaks.revoker.handle(Buffer.from('not json'), '192.0.2.57')).status).toBe(422);
  });
});
