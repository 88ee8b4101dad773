import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import type { GrantStore } from '../store/grant-store.js';

export const LEAK_REASON = 'reported leaked';

export interface RevokeReportedDeps {
  readonly store: GrantStore;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly now: () => number;
}

/** Who reported the leak: the public report, or a signed secret-scanning partner. */
export type LeakSource = 'leak_report' | 'secret_scanning';

/**
 * Revokes the token with this hash if it is live (not revoked, not expired), with reason
 * "reported leaked", and audits it (`token.leak`, whose write also carries `token.leaked`).
 * True when this call revoked a live token. Both leak endpoints go through here, so a
 * report means the same whoever sends it.
 */
export async function revokeReported(
  deps: RevokeReportedDeps,
  hash: string,
  source: LeakSource,
): Promise<boolean> {
  const { store, audit, logger } = deps;
  // The owner only matters for a classic token's org state, which is not read here.
  const snapshot = await store.lookup(hash, '');
  if (snapshot === null) return false;
  const found = snapshot.token;
  const now = deps.now();
  if (found.status === 'revoked' || !(Date.parse(found.expiresAt) > now)) return false;
  // A replaced secret resolves to the token's current record while its grace runs; once the
  // grace is over it opens nothing, so finding it is no reason to cut the new secret off.
  if (found.graceUntil !== undefined && !(Date.parse(found.graceUntil) > now)) return false;
  const revoked = await store.setTokenStatus(found.id, 'revoked', LEAK_REASON);
  if (revoked === null) return false;
  const org = revoked.kind === 'fine_grained' ? revoked.resourceOwner : null;
  try {
    await audit.append({
      actor: { kind: 'system', source },
      action: 'token.leak',
      org,
      tokenId: revoked.id,
      user: revoked.user,
      reason: LEAK_REASON,
      details: { previous_status: found.status, kind: revoked.kind },
    });
  } catch (err) {
    logger.error({ err, token_id: revoked.id, org }, `${source}: audit write failed; the token is revoked`);
    return true;
  }
  logger.warn({ token_id: revoked.id, org, user: revoked.user, source }, 'token revoked: reported leaked');
  return true;
}
