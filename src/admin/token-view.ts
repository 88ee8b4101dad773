import type { TokenRecord } from '../grants/token-record.js';

/** The public JSON shape of a token: never the secret, never its hash. */
export function tokenView(record: TokenRecord, lastUsedAt: string | null = null): Record<string, unknown> {
  const common = {
    id: record.id,
    kind: record.kind,
    user: record.user,
    name: record.name,
    status: record.status,
    created_at: record.createdAt,
    expires_at: record.expiresAt,
    last_used_at: lastUsedAt,
    ...(record.revokedAt === undefined ? {} : { revoked_at: record.revokedAt }),
    ...(record.statusReason === undefined ? {} : { status_reason: record.statusReason }),
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
