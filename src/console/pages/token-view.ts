import type { TokenRecord } from '../../grants/token-record.js';

/** A token's state as a person reads it: the stored status, or `expired` once past its expiry. */
export function displayStatus(token: TokenRecord, now: number): string {
  if (token.status === 'active' && Date.parse(token.expiresAt) <= now) return 'expired';
  return token.status;
}

export function repositoriesText(token: TokenRecord): string {
  if (token.kind === 'classic') return `classic: ${token.scopes.join(', ')} on every account and org`;
  return token.repositories === 'all'
    ? `all of ${token.resourceOwner}`
    : token.repositories.map((r) => `${token.resourceOwner}/${r}`).join(', ');
}

export function permissionsText(token: TokenRecord): string {
  if (token.kind === 'classic') return token.scopes.join(', ');
  const entries = Object.entries(token.permissions);
  return entries.length === 0
    ? 'none beyond the implicit ones'
    : entries.map(([f, l]) => `${f}:${l}`).join(', ');
}

export function ownerOf(token: TokenRecord): string {
  return token.kind === 'fine_grained' ? token.resourceOwner : '(classic)';
}
