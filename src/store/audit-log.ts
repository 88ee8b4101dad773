/** Who did something through the admin API. */
export type AuditActor =
  | { readonly kind: 'site_admin' }
  | { readonly kind: 'org_admin'; readonly user: string; readonly tokenId: string }
  /**
   * A person acting on their own behalf: with one of their tokens (`tokenId`), or
   * signed in to the console (`tokenId: null`).
   */
  | { readonly kind: 'user'; readonly user: string; readonly tokenId: string | null }
  /**
   * No person: a public leak report or a secret-scanning partner (src/leaks/), or the
   * fleet-wide scheduler (src/scheduler/: expiry notices, `revoke_unused_after_days`).
   */
  | { readonly kind: 'system'; readonly source: 'leak_report' | 'secret_scanning' | 'scheduler' };

export type AuditAction =
  | 'token.create'
  | 'token.revoke'
  | 'token.regenerate'
  | 'token.approve'
  | 'token.deny'
  | 'token.leak'
  | 'org.policy.update'
  | 'org.member.set'
  | 'org.member.remove'
  | 'org.member.invite'
  | 'org.member.accept'
  | 'org.member.uninvite';

export interface AuditEvent {
  /** Store-assigned, increasing: newest first is descending id order. */
  readonly id: string;
  readonly at: string;
  readonly actor: AuditActor;
  readonly action: AuditAction;
  readonly org: string | null;
  readonly tokenId: string | null;
  /** The user the action is about (the token's holder, the member). */
  readonly user: string | null;
  readonly reason: string | null;
  /** Action-specific facts (new policy, role, status). Never a secret. */
  readonly details: Readonly<Record<string, unknown>>;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at'>;

export interface AuditFilter {
  readonly org?: string;
  readonly tokenId?: string;
  readonly user?: string;
  readonly limit: number;
}

/**
 * An append-only, bounded record of admin actions: it keeps the newest
 * `maxEvents`. With an event stream attached, `append` also writes the webhook
 * events the action means (store/event-types.ts) in the same step, so a crash
 * never records one without the other. Memory and Redis (a stream capped with MAXLEN) implementations
 * pass one contract suite (`test/contract/audit-log.contract.ts`).
 */
export interface AuditLog {
  append(event: NewAuditEvent): Promise<AuditEvent>;
  /** Newest first. */
  list(filter: AuditFilter): Promise<AuditEvent[]>;
}

/** `user` selects what happened to a user and what they did as an org admin. */
export function matchesAuditFilter(event: AuditEvent, filter: AuditFilter): boolean {
  return (
    (filter.org === undefined || event.org === filter.org) &&
    (filter.tokenId === undefined || event.tokenId === filter.tokenId) &&
    (filter.user === undefined ||
      event.user === filter.user ||
      ((event.actor.kind === 'org_admin' || event.actor.kind === 'user') && event.actor.user === filter.user))
  );
}
