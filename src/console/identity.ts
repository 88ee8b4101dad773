import { loginSchema } from '../admin/token-input.js';

/**
 * The patgate user a claim (or a trusted identity header) names: the value,
 * lower-cased, if it is a login (letters, digits, single hyphens). Anything else
 * names nobody: an email address or an opaque subject cannot own tokens, so the
 * operator maps a claim that holds logins (`console.oidc.user_claim`).
 */
export function userFromIdentity(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const lower = value.trim().toLowerCase();
  return loginSchema.safeParse(lower).success ? lower : null;
}
