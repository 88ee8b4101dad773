import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { MemoryGrantStore } from '../../src/store/memory-store.js';
import { grantStoreContract } from './grant-store.contract.js';
import { recordInvalidations } from './token-fixtures.js';

grantStoreContract('MemoryGrantStore', async () => new MemoryGrantStore());

describe('MemoryGrantStore', () => {
  it('answers StoreUnavailableError once closed, like a Redis that went away', async () => {
    const store = new MemoryGrantStore();
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.lookup('h', 'acme')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports a throwing listener and still reaches the others', async () => {
    const failures: unknown[] = [];
    const store = new MemoryGrantStore({ onListenerError: (err) => failures.push(err) });
    store.onInvalidate(() => {
      throw new Error('listener bug');
    });
    const events = recordInvalidations(store);
    await store.setMember('acme', 'alice', 'member');
    await events.next((e) => e.kind === 'owner' && e.owner === 'acme');
    expect(failures).toHaveLength(1);
  });

  it('delivers invalidations after the writing call, never inside it', async () => {
    const store = new MemoryGrantStore();
    const events = recordInvalidations(store);
    const writing = store.setOrgPolicy('acme', {
      requireApproval: false,
      maxLifetimeDays: null,
      classicTokens: 'blocked',
      fineGrainedTokens: 'allowed',
    });
    expect(events.seen).toEqual([]);
    await writing;
    await events.next((e) => e.kind === 'owner');
  });
});
