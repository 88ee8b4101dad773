import { describe, expect, it } from 'vitest';
import { redisWarnings } from './redis-warnings.js';

describe('redisWarnings', () => {
  it('no persistence: one warning saying to turn AOF on', () => {
    const [only, ...rest] = redisWarnings({ appendonly: 'no', save: '', maxmemoryPolicy: 'noeviction' });
    expect(rest).toEqual([]);
    expect(only).toMatch(/no persistence/);
    expect(only).toMatch(/appendonly yes/);
  });

  it('snapshots only: the writes since the last snapshot are at risk', () => {
    const [only, ...rest] = redisWarnings({
      appendonly: 'no',
      save: '3600 1',
      maxmemoryPolicy: 'noeviction',
    });
    expect(rest).toEqual([]);
    expect(only).toMatch(/snapshots only .*save "3600 1"/);
  });

  it('an eviction policy: one warning saying to use noeviction', () => {
    const warnings = redisWarnings({ appendonly: 'yes', save: '', maxmemoryPolicy: 'allkeys-lru' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/maxmemory-policy allkeys-lru.*noeviction/);
  });

  it('AOF on and noeviction: nothing', () => {
    expect(redisWarnings({ appendonly: 'yes', save: '', maxmemoryPolicy: 'noeviction' })).toEqual([]);
  });

  it('what CONFIG refused is taken on trust', () => {
    expect(redisWarnings({})).toEqual([]);
    // `save` refused: whether snapshots exist is unknown, so nothing is said about persistence.
    expect(redisWarnings({ appendonly: 'no' })).toEqual([]);
  });
});
