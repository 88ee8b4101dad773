import { createHash, randomBytes } from 'node:crypto';

/** Bytes of randomness in a session id, a sign-in id and a CSRF token. */
export const SECRET_BYTES = 32;

const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** 32 random bytes, base64url (43 characters): what the browser holds. */
export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** A cookie value that could be one of ours; anything else is not looked up. */
export function isSecret(value: string | undefined): value is string {
  return value !== undefined && SECRET_SHAPE.test(value);
}

/** What the store keys on: the SHA-256 of the secret, so a store dump signs nobody in. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
