import type { Invitation } from './grant-store.js';

/** Past `expiresAt` an invitation is gone; an unreadable instant counts as past (fail closed). */
export function isLive(invitation: Invitation, nowMs: number): boolean {
  return Date.parse(invitation.expiresAt) > nowMs;
}

/**
 * Listing order for both stores: oldest first (by instant: RFC 3339 offsets do not
 * sort as text), then org and user so that equal instants list stably.
 */
export function compareInvitations(a: Invitation, b: Invitation): number {
  const age = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  if (age !== 0) return age;
  if (a.org !== b.org) return a.org < b.org ? -1 : 1;
  return a.user < b.user ? -1 : a.user > b.user ? 1 : 0;
}
