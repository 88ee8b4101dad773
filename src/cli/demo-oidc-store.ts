import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

interface Entry {
  readonly payload: AdapterPayload;
  /** Epoch ms; past it the entry is gone. */
  readonly expiresAt: number;
}

/**
 * The demo provider's sessions, codes and grants, held in this process for as long as each one
 * lives: the demo keeps nothing across restarts and runs one process, which is what it needs. One
 * map serves every model; ids are unique across them (oidc-provider prefixes none).
 */
export function demoOidcStore(): AdapterFactory {
  const entries = new Map<string, Entry>();
  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  const findBy = (name: string, field: 'uid' | 'userCode', value: string): AdapterPayload | undefined => {
    for (const [key] of entries) {
      if (!key.startsWith(`${name}:`)) continue;
      const payload = live(key);
      if (payload?.[field] === value) return payload;
    }
    return undefined;
  };
  return (name: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      entries.set(`${name}:${id}`, { payload, expiresAt: Date.now() + expiresIn * 1000 });
    },
    async find(id) {
      return live(`${name}:${id}`);
    },
    async findByUid(uid) {
      return findBy(name, 'uid', uid);
    },
    async findByUserCode(userCode) {
      return findBy(name, 'userCode', userCode);
    },
    async consume(id) {
      const payload = live(`${name}:${id}`);
      if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      entries.delete(`${name}:${id}`);
    },
    async revokeByGrantId(grantId) {
      for (const [key, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(key);
    },
  });
}
