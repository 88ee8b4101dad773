import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { type Config, configSchema } from '../config/schema.js';
import { clusterRole, workerCount } from './cluster.js';

function config(extra: Record<string, unknown>): Config {
  return configSchema.parse({ upstream: { url: 'http://127.0.0.1:9' }, features: {}, routes: [], ...extra });
}

const REDIS = { store: { redis_url: 'redis://127.0.0.1:6379' } };

describe('workerCount', () => {
  it('is the number given, and one per CPU for auto', () => {
    expect(workerCount(1)).toBe(1);
    expect(workerCount(3)).toBe(3);
    expect(workerCount('auto')).toBe(availableParallelism());
  });
});

describe('clusterRole', () => {
  it('is one process by default, whatever the store', async () => {
    expect(config({}).workers).toBe(1);
    expect(await clusterRole(config({}), {})).toEqual({ kind: 'single' });
    expect(await clusterRole(config(REDIS), {})).toEqual({ kind: 'single' });
  });

  it('is the primary of N workers on a Redis store', async () => {
    expect(await clusterRole(config({ ...REDIS, workers: 3 }), {})).toMatchObject({
      kind: 'primary',
      workers: 3,
    });
  });

  it('refuses N workers on the in-memory store, naming both keys', async () => {
    expect(await clusterRole(config({ workers: 2 }), {})).toEqual({
      kind: 'refused',
      reason:
        'workers: 2 needs store.redis_url (or PATGATE_REDIS_URL): the in-memory store cannot be shared across workers',
    });
  });

  it('is no worker unless node:cluster forked this process, PATGATE_WORKER or not', async () => {
    // The test runner's process has an IPC channel but is not a cluster worker.
    expect(await clusterRole(config(REDIS), { PATGATE_WORKER: '1' })).toEqual({ kind: 'single' });
  });
});
