import type { Hono } from 'hono';
import type { AuditActor } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import type { AuditRecorder } from './audit-recorder.js';
import type { TokenService } from './token-service.js';

/** Hono's per-request variables: who is calling, set by `authenticate`. */
export type AdminEnv = { Variables: { actor: AuditActor } };
export type AdminApp = Hono<AdminEnv>;

/** What the route groups share. */
export interface AdminDeps {
  readonly store: GrantStore;
  readonly audit: AuditRecorder;
  readonly tokens: TokenService;
  readonly now: () => number;
}
