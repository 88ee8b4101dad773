/**
 * What the `Authorization` header(s) of a request carry. `detail` never
 * repeats any part of the header: a malformed value may still be a secret.
 */
export type ExtractedBearer =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'invalid'; readonly detail: string };

const NONE: ExtractedBearer = Object.freeze({ kind: 'none' });

function invalid(detail: string): ExtractedBearer {
  return { kind: 'invalid', detail };
}

const SP = 0x20;
const HTAB = 0x09;
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
 * Reads a Bearer credential (RFC 6750 §2.1) from the value(s) of the
 * `Authorization` header. Pass every received value (Node's
 * `req.headersDistinct.authorization`): `req.headers` silently keeps only the
 * first of duplicated `Authorization` headers, and a request carrying two
 * credentials must be refused rather than have one picked for it.
 */
export function extractBearer(headerValues: string | readonly string[] | undefined): ExtractedBearer {
  let value: string;
  if (headerValues === undefined) return NONE;
  if (typeof headerValues === 'string') {
    value = headerValues;
  } else {
    if (headerValues.length === 0) return NONE;
    if (headerValues.length > 1) return invalid('more than one Authorization header');
    value = headerValues[0] ?? '';
  }

  // Surrounding OWS is not part of a field value (RFC 9110 §5.5).
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  if (start === end) return invalid('empty Authorization header');

  // A comma means a list: several credentials joined by a proxy, or auth-params.
  const comma = value.indexOf(',', start);
  if (comma >= 0 && comma < end) {
    return invalid('Authorization header holds more than one credential');
  }

  // The scheme is case-insensitive (RFC 9110 §11.1).
  const schemeEnd = start + BEARER.length;
  let isBearer = end >= schemeEnd;
  for (let i = 0; isBearer && i < BEARER.length; i++) {
    // Only letters map onto a lower-case letter under `| 0x20`, so this is an exact ASCII fold.
    if ((value.charCodeAt(start + i) | 0x20) !== BEARER.charCodeAt(i)) isBearer = false;
  }
  if (!isBearer || (schemeEnd < end && value.charCodeAt(schemeEnd) !== SP)) {
    return invalid('Authorization scheme is not Bearer');
  }

  let credential = schemeEnd;
  while (credential < end && value.charCodeAt(credential) === SP) credential++;
  if (credential === end) return invalid('Bearer credential is missing');
  if (!isToken68(value, credential, end)) {
    return invalid('Bearer credential is not a single token68 value');
  }
  return { kind: 'bearer', token: value.slice(credential, end) };
}

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

const AUTHORIZATION = 'authorization';

/**
 * `extractBearer` over every `Authorization` field in Node's `req.rawHeaders`: the same answer
 * as `extractBearer(req.headersDistinct.authorization)` without building `headersDistinct`, an
 * object of arrays over every header of the request, for the one field the gateway reads there.
 */
export function extractBearerFromRawHeaders(rawHeaders: readonly string[]): ExtractedBearer {
  let value: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== AUTHORIZATION.length || !isAuthorizationName(name)) continue;
    if (value !== undefined) return invalid('more than one Authorization header');
    value = rawHeaders[i + 1] as string;
  }
  return value === undefined ? NONE : extractBearer(value);
}

function isAuthorizationName(name: string): boolean {
  for (let i = 0; i < AUTHORIZATION.length; i++) {
    // Every character of `authorization` is a letter, so `| 0x20` is an exact ASCII case fold.
    if ((name.charCodeAt(i) | 0x20) !== AUTHORIZATION.charCodeAt(i)) return false;
  }
  return true;
}
