import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/** For a model the provider gives no lifetime. */
const DEFAULT_LIFETIME_S = 3_600;

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
      const now = Date.now();
      // What has expired goes as new entries come, so that a long-running demo holds only live ones.
      for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
      const seconds = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S;
      entries.set(`${name}:${id}`, { payload, expiresAt: now + seconds * 1000 });
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
