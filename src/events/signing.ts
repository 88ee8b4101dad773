import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { WebhookSecret } from '../store/webhook-store.js';

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The secrets that still sign at `now`: the current one, and the previous until its overlap ends. */
export function liveSecrets(secrets: readonly WebhookSecret[], now: number): WebhookSecret[] {
  return secrets.filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > now);
}

/**
 * The three Standard Webhooks headers. With two live secrets (a rotation) the
 * signature header carries one `v1,` signature per secret, space-separated: a
 * receiver holding either verifies.
 */
export function signedHeaders(
  messageId: string,
  now: number,
  payload: string,
  secrets: readonly WebhookSecret[],
): Record<string, string> {
  const at = new Date(Math.floor(now / 1000) * 1000);
  const signatures = liveSecrets(secrets, now).map((s) => new Webhook(s.secret).sign(messageId, at, payload));
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(now / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

/** Rotation: a new current secret; the previous current one signs on for ROTATION_OVERLAP_MS. */
export function rotateSecrets(
  secrets: readonly WebhookSecret[],
  now: number,
): { secrets: WebhookSecret[]; secret: string } {
  const secret = newSecret();
  const at = new Date(now).toISOString();
  const until = new Date(now + ROTATION_OVERLAP_MS).toISOString();
  const previous = liveSecrets(secrets, now)
    .filter((s) => s.expiresAt === null)
    .map((s) => ({ ...s, expiresAt: until }));
  return { secret, secrets: [{ secret, createdAt: at, expiresAt: null }, ...previous.slice(0, 1)] };
}
