/**
 * Console sessions, kept server-side in the shared store so that any instance
 * serves them. The browser holds a random 32-byte id; the store only ever sees
 * its SHA-256 (`idHash`), as grants are keyed by the hash of a token.
 */
export interface ConsoleSession {
  /** The patgate user (a lower-cased login). */
  readonly user: string;
  /** The per-session CSRF token every non-GET call must echo. Not a credential on its own. */
  readonly csrfToken: string;
  /** Epoch ms: when the person signed in (the absolute limit counts from here). */
  readonly createdAt: number;
  /** Epoch ms: the last time the session was used (the idle limit counts from here). */
  readonly lastSeenAt: number;
}

/** An OIDC sign-in between `/console/login` and `/console/callback`. */
export interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** A path on the console to return to once signed in. */
  readonly returnTo: string;
}

export interface SessionLimits {
  /** A session unused this long is over. */
  readonly idleMs: number;
  /** A session this old is over, however busy. */
  readonly absoluteMs: number;
}

/** How long a started sign-in may take at the provider. */
export const SIGN_IN_TTL_MS = 10 * 60_000;

/**
 * Memory and Redis implementations (`session-memory-store.ts`, `session-redis-store.ts`)
 * apply the same limits. Methods reject with `StoreUnavailableError` when the backend
 * cannot answer.
 */
export interface SessionStore {
  create(idHash: string, session: ConsoleSession): Promise<void>;
  /**
   * The live session under `idHash`, its idle clock restarted; null when there is
   * none, or it has been idle or alive past its limits (it is then gone).
   */
  resume(idHash: string): Promise<ConsoleSession | null>;
  end(idHash: string): Promise<void>;
  /** Keeps a started sign-in for `SIGN_IN_TTL_MS`. */
  saveSignIn(idHash: string, pending: PendingSignIn): Promise<void>;
  /** Removes and returns a started sign-in: each can finish once. */
  takeSignIn(idHash: string): Promise<PendingSignIn | null>;
  close(): Promise<void>;
}

export type SessionState = 'live' | 'idle' | 'expired';

/** Whether a session may still be used at `now`. */
export function sessionState(session: ConsoleSession, now: number, limits: SessionLimits): SessionState {
  if (now - session.createdAt >= limits.absoluteMs) return 'expired';
  if (now - session.lastSeenAt >= limits.idleMs) return 'idle';
  return 'live';
}

/** Validates session limits once, at construction. */
export function checkSessionLimits(limits: SessionLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`${name} must be a positive integer of milliseconds, got ${value}`);
    }
  }
}
