import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/store/session-redis-store.js';
import type { ConsoleSession } from '../../src/store/session-store.js';
import { startRedisServer, type TestRedis } from '../helpers/redis-server.js';

let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
});

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

function store(prefix: string, limits: { idleMs: number; absoluteMs: number }, now?: () => number) {
  return new RedisSessionStore({
    url: redis.url,
    keyPrefix: prefix,
    commandTimeoutMs: 2_000,
    limits,
    ...(now === undefined ? {} : { now }),
  });
}

const session = (at: number): ConsoleSession => ({
  user: 'alice',
  csrfToken: 'c'.repeat(43),
  createdAt: at,
  lastSeenAt: at,
});

describe('RedisSessionStore', () => {
  it('keeps a session under its hash with the idle limit as TTL, restarted on use', async () => {
    const s = store('a:', { idleMs: 60_000, absoluteMs: 3_600_000 });
    try {
      await s.create('h1', session(Date.now()));
      expect(await client.pttl('a:session:h1')).toBeGreaterThan(59_000);
      await client.pexpire('a:session:h1', 5_000);
      expect((await s.resume('h1'))?.user).toBe('alice');
      expect(await client.pttl('a:session:h1')).toBeGreaterThan(59_000);
      await s.end('h1');
      expect(await s.resume('h1')).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('ends a session at its absolute limit however busy, and caps the TTL there', async () => {
    let t = Date.now();
    const s = store('b:', { idleMs: 60_000, absoluteMs: 100_000 }, () => t);
    try {
      await s.create('h2', session(t));
      t += 50_000;
      expect(await s.resume('h2')).not.toBeNull();
      expect(await client.pttl('b:session:h2')).toBeLessThanOrEqual(50_000 + 1_000);
      t += 50_000;
      expect(await s.resume('h2')).toBeNull();
      expect(await client.exists('b:session:h2')).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('hands a started sign-in out once', async () => {
    const s = store('c:', { idleMs: 60_000, absoluteMs: 100_000 });
    try {
      const pending = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/console/session' };
      await s.saveSignIn('h3', pending);
      expect(await client.pttl('c:signin:h3')).toBeGreaterThan(9 * 60_000);
      expect(await s.takeSignIn('h3')).toEqual(pending);
      expect(await s.takeSignIn('h3')).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('treats a record it cannot read as no session', async () => {
    const s = store('d:', { idleMs: 60_000, absoluteMs: 100_000 });
    try {
      await client.set('d:session:h4', '{"user":1}');
      expect(await s.resume('h4')).toBeNull();
    } finally {
      await s.close();
    }
  });
});
