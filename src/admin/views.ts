import type { OrgPolicy } from '../grants/owner.js';
import type { TokenRecord } from '../grants/token-record.js';
import { formatWindow } from '../limits/window.js';
import type { AuditActor, AuditEvent } from '../store/audit-log.js';
import type { Invitation } from '../store/grant-store.js';

/** The public JSON shape of a token: never the secret, never its hash. */
export function tokenView(record: TokenRecord, lastUsedAt: string | null = null): Record<string, unknown> {
  const common = {
    id: record.id,
    kind: record.kind,
    user: record.user,
    name: record.name,
    ...(record.description === undefined ? {} : { description: record.description }),
    status: record.status,
    created_at: record.createdAt,
    expires_at: record.expiresAt,
    last_used_at: lastUsedAt,
    ...(record.revokedAt === undefined ? {} : { revoked_at: record.revokedAt }),
    ...(record.regeneratedAt === undefined ? {} : { regenerated_at: record.regeneratedAt }),
    ...(record.statusReason === undefined ? {} : { status_reason: record.statusReason }),
    ...(record.allowedIps === undefined ? {} : { allowed_ips: record.allowedIps }),
    ...(record.rateLimit === undefined
      ? {}
      : {
          rate_limit: { limit: record.rateLimit.limit, window: formatWindow(record.rateLimit.windowSeconds) },
        }),
  };
  if (record.kind === 'classic') {
    return { ...common, scopes: record.scopes };
  }
  return {
    ...common,
    resource_owner: record.resourceOwner,
    repositories: record.repositories,
    permissions: record.permissions,
  };
}

export function policyView(p: OrgPolicy): Record<string, unknown> {
  return {
    require_approval: p.requireApproval,
    max_lifetime_days: p.maxLifetimeDays,
    classic_tokens: p.classicTokens,
    fine_grained_tokens: p.fineGrainedTokens,
    ip_allow_list: p.ipAllowList ?? [],
    rate_limit:
      p.rateLimit === undefined
        ? null
        : { limit: p.rateLimit.limit, window: formatWindow(p.rateLimit.windowSeconds), per: p.rateLimit.per },
    revoke_unused_after_days: p.revokeUnusedAfterDays ?? null,
  };
}

export function invitationView(i: Invitation): Record<string, unknown> {
  return {
    org: i.org,
    user: i.user,
    role: i.role,
    invited_by: i.invitedBy,
    created_at: i.createdAt,
    expires_at: i.expiresAt,
  };
}

export function actorView(actor: AuditActor): Record<string, unknown> {
  if (actor.kind === 'site_admin') return { kind: 'site_admin' };
  if (actor.kind === 'system') return { kind: 'system', source: actor.source };
  return { kind: actor.kind, user: actor.user, token_id: actor.tokenId };
}

export function auditView(e: AuditEvent): Record<string, unknown> {
  const actor: AuditActor = e.actor;
  return {
    id: e.id,
    at: e.at,
    action: e.action,
    actor: actorView(actor),
    org: e.org,
    token_id: e.tokenId,
    user: e.user,
    reason: e.reason,
    details: e.details,
  };
}
