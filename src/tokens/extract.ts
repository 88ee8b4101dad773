import { isOws } from '../text/ascii.js';

/**
 * What the `Authorization` header of a request carries. `detail` never repeats any part of the
 * header: a malformed value may still be a secret.
 */
export type Credential =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'invalid'; readonly detail: string };

export const NO_CREDENTIAL: Credential = Object.freeze({ kind: 'none' });

export function invalidCredential(detail: string): Credential {
  return { kind: 'invalid', detail };
}

const SP = 0x20;
const BEARER = 'bearer';

/** RFC 9110 §11.2 token68: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then any "=". */
function isToken68Char(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2d ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x7e ||
    code === 0x2b ||
    code === 0x2f
  );
}

function isToken68(text: string, start: number, end: number): boolean {
  let i = start;
  while (i < end && isToken68Char(text.charCodeAt(i))) i++;
  if (i === start) return false;
  while (i < end && text.charCodeAt(i) === 0x3d) i++;
  return i === end;
}

/**
 * Reads a Bearer credential (RFC 6750 §2.1) from the one `Authorization` field of a request. The
 * caller refuses a second field before it gets here: a request carrying two credentials must be
 * refused rather than have one picked for it.
 */
export function extractBearer(value: string): Credential {
  // Surrounding OWS is not part of a field value (RFC 9110 §5.5).
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  if (start === end) return invalidCredential('empty Authorization header');

  // A comma means a list: several credentials joined by a proxy, or auth-params.
  const comma = value.indexOf(',', start);
  if (comma >= 0 && comma < end) {
    return invalidCredential('Authorization header holds more than one credential');
  }

  // The scheme is case-insensitive (RFC 9110 §11.1).
  const schemeEnd = start + BEARER.length;
  let isBearer = end >= schemeEnd;
  for (let i = 0; isBearer && i < BEARER.length; i++) {
    // Only letters map onto a lower-case letter under `| 0x20`, so this is an exact ASCII fold.
    if ((value.charCodeAt(start + i) | 0x20) !== BEARER.charCodeAt(i)) isBearer = false;
  }
  if (!isBearer || (schemeEnd < end && value.charCodeAt(schemeEnd) !== SP)) {
    return invalidCredential('Authorization scheme is not Bearer');
  }

  let credential = schemeEnd;
  while (credential < end && value.charCodeAt(credential) === SP) credential++;
  if (credential === end) return invalidCredential('Bearer credential is missing');
  if (!isToken68(value, credential, end)) {
    return invalidCredential('Bearer credential is not a single token68 value');
  }
  return { kind: 'bearer', token: value.slice(credential, end) };
}
