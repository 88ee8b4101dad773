import { isOws } from '../text/ascii.js';

/**
 * What the `Authorization` header of a request carries. `detail` never repeats any part of the
 * header: a malformed value may still be a secret.
 */
export type Credential =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'invalid'; readonly detail: string };

export const NO_CREDENTIAL: Credential = Object.freeze({ kind: 'none' });

export function invalidCredential(detail: string): Credential {
  return { kind: 'invalid', detail };
}

const SP = 0x20;

/**
 * The schemes a token may come in (RFC 9110 §11.1: case-insensitive): `Bearer` (RFC 6750),
 * `token` (GitHub's documented scheme, what Octokit sends), and `Basic` with the token as the
 * password (git over HTTPS; the user name is ignored, as GitHub does).
 */
const SCHEMES = ['bearer', 'token', 'basic'] as const;
type Scheme = (typeof SCHEMES)[number];

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
 * Reads the one credential of a request's one `Authorization` field. The caller refuses a second
 * field before it gets here: a request carrying two credentials must be refused rather than have
 * one picked for it.
 */
export function extractCredential(value: string): Credential {
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

  const scheme = schemeAt(value, start, end);
  if (scheme === null) return invalidCredential('Authorization scheme is not Bearer, token or Basic');
  let credential = start + scheme.length;
  while (credential < end && value.charCodeAt(credential) === SP) credential++;
  if (credential === end) return invalidCredential('the credential after the scheme is missing');
  if (!isToken68(value, credential, end)) {
    return invalidCredential('the credential is not a single token68 value');
  }
  const text = value.slice(credential, end);
  return scheme === 'basic' ? basicPassword(text) : { kind: 'token', token: text };
}

function schemeAt(value: string, start: number, end: number): Scheme | null {
  for (const scheme of SCHEMES) {
    const schemeEnd = start + scheme.length;
    if (end < schemeEnd || (schemeEnd < end && value.charCodeAt(schemeEnd) !== SP)) continue;
    let matches = true;
    for (let i = 0; matches && i < scheme.length; i++) {
      // Only letters map onto a lower-case letter under `| 0x20`, so this is an exact ASCII fold.
      if ((value.charCodeAt(start + i) | 0x20) !== scheme.charCodeAt(i)) matches = false;
    }
    if (matches) return scheme;
  }
  return null;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** RFC 7617: `base64(user-id ":" password)`; the password is the token. */
function basicPassword(text: string): Credential {
  if (text.length % 4 !== 0 || !BASE64.test(text))
    return invalidCredential('the Basic credential is not base64');
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return invalidCredential('the Basic credential has no user-id and password');
  const password = decoded.slice(colon + 1);
  if (password === '') return invalidCredential('the Basic credential has an empty password');
  return { kind: 'token', token: password };
}
