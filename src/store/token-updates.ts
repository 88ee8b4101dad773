import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
import type { TokenFilter } from './grant-store.js';

/**
 * The record after a status change, identical in both stores. The reason belongs
 * to the status it explains, so a new status drops the old reason; `revokedAt`
 * keeps the first revocation instant.
 */
export function withStatus(
  record: TokenRecord,
  status: TokenStatus,
  reason: string | undefined,
  now: Date,
): TokenRecord {
  const revokedAt = status === 'revoked' ? (record.revokedAt ?? now.toISOString()) : undefined;
  return withoutUndefined({ ...record, status, statusReason: reason, revokedAt });
}

/** The record after regenerate: new expiry, and a lifetime that starts again now. */
export function withExpiry(record: TokenRecord, expiresAt: string, now: Date): TokenRecord {
  return { ...record, expiresAt, regeneratedAt: now.toISOString() };
}

/** Names compare case-insensitively: the filter is lower-cased like the stored names. */
export function normalizeFilter(filter: TokenFilter): TokenFilter {
  return {
    ...filter,
    ...(filter.user === undefined ? {} : { user: filter.user.toLowerCase() }),
    ...(filter.resourceOwner === undefined ? {} : { resourceOwner: filter.resourceOwner.toLowerCase() }),
  };
}

export function matchesFilter(record: TokenRecord, filter: TokenFilter): boolean {
  if (filter.user !== undefined && record.user !== filter.user) return false;
  if (filter.status !== undefined && record.status !== filter.status) return false;
  if (filter.resourceOwner !== undefined) {
    // Classic tokens have no single resource owner, so an owner filter never selects them.
    if (record.kind !== 'fine_grained' || record.resourceOwner !== filter.resourceOwner) return false;
  }
  return true;
}

/** Listing order for both stores: oldest first, id as the tie-break. */
export function compareByCreation(a: TokenRecord, b: TokenRecord): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// Keeps the memory store's records identical to what a JSON round trip through Redis yields.
function withoutUndefined<T extends object>(value: T): T {
  const copy = { ...value };
  for (const key of Object.keys(copy) as (keyof T)[]) {
    if (copy[key] === undefined) delete copy[key];
  }
  return copy;
}
