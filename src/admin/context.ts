import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AuditActor } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';
import type { AuditRecorder } from './audit-recorder.js';
import type { TokenService } from './token-service.js';

/** A person acting on their own behalf (`/v1/user/...`), known by one of their tokens. */
export type UserActor = Extract<AuditActor, { kind: 'user' }>;

/** Whoever an admin API call acts as: the site admin, an org admin, or a user for themselves. */
export type AdminActor = Exclude<AuditActor, { kind: 'system' }>;

/**
 * Hono's per-request variables: who is calling, set by `authenticate`. The
 * bindings are @hono/node-server's: the Node request, for the client address.
 */
export type AdminEnv = { Bindings: HttpBindings; Variables: { actor: AdminActor } };
export type AdminApp = Hono<AdminEnv>;

/** What the route groups share. */
export interface AdminDeps {
  readonly store: GrantStore;
  readonly audit: AuditRecorder;
  readonly tokens: TokenService;
  readonly now: () => number;
}
