import {
  type ConsoleSession,
  checkSessionLimits,
  type PendingSignIn,
  type SessionLimits,
  type SessionStore,
  SIGN_IN_TTL_MS,
  sessionState,
} from './session-store.js';

export interface MemorySessionStoreOptions {
  readonly limits: SessionLimits;
  readonly now?: () => number;
}

/** Sessions in this process only: for the in-memory grant store (one instance, lost on restart). */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #signIns = new Map<string, { readonly pending: PendingSignIn; readonly expiresAt: number }>();
  readonly #limits: SessionLimits;
  readonly #now: () => number;

  constructor(options: MemorySessionStoreOptions) {
    checkSessionLimits(options.limits);
    this.#limits = options.limits;
    this.#now = options.now ?? Date.now;
  }

  async create(idHash: string, session: ConsoleSession): Promise<void> {
    this.#sweep();
    this.#sessions.set(idHash, session);
  }

  async resume(idHash: string): Promise<ConsoleSession | null> {
    const session = this.#sessions.get(idHash);
    if (session === undefined) return null;
    const now = this.#now();
    if (sessionState(session, now, this.#limits) !== 'live') {
      this.#sessions.delete(idHash);
      return null;
    }
    const touched = { ...session, lastSeenAt: now };
    this.#sessions.set(idHash, touched);
    return touched;
  }

  async end(idHash: string): Promise<void> {
    this.#sessions.delete(idHash);
  }

  async saveSignIn(idHash: string, pending: PendingSignIn): Promise<void> {
    this.#sweep();
    this.#signIns.set(idHash, { pending, expiresAt: this.#now() + SIGN_IN_TTL_MS });
  }

  async takeSignIn(idHash: string): Promise<PendingSignIn | null> {
    const entry = this.#signIns.get(idHash);
    this.#signIns.delete(idHash);
    return entry !== undefined && entry.expiresAt > this.#now() ? entry.pending : null;
  }

  async close(): Promise<void> {}

  /** Abandoned sessions and sign-ins leave as new ones arrive, so memory stays bounded by use. */
  #sweep(): void {
    const now = this.#now();
    for (const [key, session] of this.#sessions) {
      if (sessionState(session, now, this.#limits) !== 'live') this.#sessions.delete(key);
    }
    for (const [key, entry] of this.#signIns) {
      if (entry.expiresAt <= now) this.#signIns.delete(key);
    }
  }
}
