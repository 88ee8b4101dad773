import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NewAuditEvent } from '../../src/store/audit-log.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { RedisAuditLog } from '../../src/store/redis-audit-log.js';
import { freePort } from '../helpers/free-port.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { auditLogContract } from './audit-log.contract.js';

let redis: TestRedis;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  await redis?.stop();
});

function uniquePrefix(): string {
  return `patgate-test:${randomBytes(6).toString('hex')}:`;
}

function openLog(maxEvents: number, keyPrefix = uniquePrefix(), url = redis.url): RedisAuditLog {
  const log = new RedisAuditLog({ url, keyPrefix, commandTimeoutMs: 300, maxEvents });
  opened.push(log);
  return log;
}

const SAMPLE: NewAuditEvent = {
  actor: { kind: 'site_admin' },
  action: 'org.member.remove',
  org: 'acme',
  tokenId: null,
  user: 'alice',
  reason: 'left the company',
  details: {},
};

auditLogContract('RedisAuditLog', async (maxEvents) => openLog(maxEvents));

describe('RedisAuditLog', () => {
  it('keeps the events in one stream, {prefix}audit, trimmed to maxEvents', async () => {
    const prefix = uniquePrefix();
    const log = openLog(3, prefix);
    for (let i = 0; i < 7; i++) await log.append(SAMPLE);
    const client = new Redis(redis.url);
    opened.push({ close: () => client.quit() });
    expect(await client.type(`${prefix}audit`)).toBe('stream');
    expect(await client.xlen(`${prefix}audit`)).toBe(3);
  });

  it('is shared by every instance with the same prefix, and by nobody else', async () => {
    const prefix = uniquePrefix();
    const a = openLog(100, prefix);
    const b = openLog(100, prefix);
    const stranger = openLog(100);
    const stored = await a.append(SAMPLE);
    expect(await b.list({ limit: 10 })).toEqual([stored]);
    expect(await stranger.list({ limit: 10 })).toEqual([]);
  });

  it('finds old matches past a batch of non-matching newer events', async () => {
    const log = openLog(2000);
    await log.append({ ...SAMPLE, org: 'globex' });
    for (let i = 0; i < 1100; i++) await log.append(SAMPLE);
    const found = await log.list({ org: 'globex', limit: 10 });
    expect(found.map((e) => e.org)).toEqual(['globex']);
  });

  it('skips an entry it cannot read instead of failing the whole listing', async () => {
    const prefix = uniquePrefix();
    const log = openLog(100, prefix);
    const first = await log.append(SAMPLE);
    const client = new Redis(redis.url);
    opened.push({ close: () => client.quit() });
    await client.xadd(`${prefix}audit`, '*', 'e', '{not json');
    expect(await log.list({ limit: 10 })).toEqual([first]);
  });

  it('fails with StoreUnavailableError when Redis cannot be reached', async () => {
    const log = openLog(100, uniquePrefix(), `redis://127.0.0.1:${await freePort()}`);
    await expect(log.append(SAMPLE)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(log.list({ limit: 1 })).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('rejects a bound that is not a positive integer', () => {
    expect(
      () => new RedisAuditLog({ url: redis.url, keyPrefix: 'p:', commandTimeoutMs: 300, maxEvents: 0 }),
    ).toThrow(/maxEvents/);
  });
});
