export type HeaderRejection =
  | 'too_many_headers'
  | 'missing_host'
  | 'duplicate_host'
  | 'bad_host'
  | 'method_override'
  | 'transfer_coding'
  | 'http10_transfer_encoding';

export type HeaderCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: HeaderRejection; readonly detail: string };

const OK: HeaderCheck = Object.freeze({ ok: true });

/**
 * Headers that frameworks honour as the request method (Express method-override, Symfony,
 * ASP.NET, Google APIs). A request carrying one is refused rather than stripped: a client that
 * sends one expects another method to run, and the gateway authorized only the real one.
 */
const METHOD_OVERRIDE_HEADERS: readonly string[] = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];
const OVERRIDE_MIN_LENGTH = 13;
const OVERRIDE_MAX_LENGTH = 22;

const HOST = 'host';
const TRANSFER_ENCODING = 'transfer-encoding';
const CHUNKED = 'chunked';
const MAX_HOST_LENGTH = 261; // 255-byte DNS name + ":" + 5-digit port

/** ASCII case-insensitive `name === lower`, where `lower` is lower-case letters, digits and `-`. */
function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * One pass over Node's `req.rawHeaders` (`[name, value, ...]`, as received; llhttp has already
 * refused malformed names, bare CR/LF, obs-fold, CL+TE, duplicate or non-numeric Content-Length,
 * and a Transfer-Encoding whose last coding is not chunked). What it cannot know is checked here.
 */
export function checkRequestHeaders(
  rawHeaders: readonly string[],
  httpMinor: number,
  maxCount: number,
): HeaderCheck {
  const length = rawHeaders.length;
  if (length > 2 * maxCount) {
    return { ok: false, reason: 'too_many_headers', detail: `more than ${maxCount} header fields` };
  }
  let host: string | undefined;
  for (let i = 0; i + 1 < length; i += 2) {
    const name = rawHeaders[i] as string;
    const size = name.length;
    if (size === 4) {
      if (!nameIs(name, HOST)) continue;
      // RFC 9112 §3.2: more than one Host is a 400; the upstream might pick the other one.
      if (host !== undefined)
        return { ok: false, reason: 'duplicate_host', detail: 'more than one Host header' };
      host = rawHeaders[i + 1] as string;
      if (!isValidHost(host))
        return { ok: false, reason: 'bad_host', detail: 'the Host header is not a valid host[:port]' };
    } else if (size === 17 && nameIs(name, TRANSFER_ENCODING)) {
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means the framing is faulty.
      if (httpMinor === 0) {
        return {
          ok: false,
          reason: 'http10_transfer_encoding',
          detail: 'Transfer-Encoding is not defined for HTTP/1.0',
        };
      }
      // Only `chunked`, alone: llhttp accepts `gzip, chunked` or a list split over several
      // fields, and the gateway would forward a body whose coding it cannot vouch for.
      // RFC 9112 §6.1: an unsupported transfer coding gets 501.
      if (!isChunkedOnly(rawHeaders[i + 1] as string)) {
        return {
          ok: false,
          reason: 'transfer_coding',
          detail: 'only "Transfer-Encoding: chunked" is supported',
        };
      }
    }
    if (size >= OVERRIDE_MIN_LENGTH && size <= OVERRIDE_MAX_LENGTH) {
      for (const override of METHOD_OVERRIDE_HEADERS) {
        if (nameIs(name, override)) {
          return {
            ok: false,
            reason: 'method_override',
            detail: `${override} is refused: send the real method instead`,
          };
        }
      }
    }
  }
  if (host === undefined && httpMinor !== 0) {
    return { ok: false, reason: 'missing_host', detail: 'an HTTP/1.1 request needs a Host header' };
  }
  return OK;
}

function isChunkedOnly(value: string): boolean {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return end - start === CHUNKED.length && nameIs(value.slice(start, end), CHUNKED);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * RFC 9112 §3.2 / RFC 3986 §3.2.2, narrowed to what a real client sends: a DNS-style name or
 * IPv4 address (letters, digits, `-`, `.`, `_`) or a bracketed IPv6 literal, then an optional
 * `:port`. Userinfo, paths, commas and the rest of the reg-name sub-delims are refused: the value
 * is relayed as X-Forwarded-Host, and upstreams build absolute links from it (Host header
 * injection, e.g. password-reset poisoning).
 */
export function isValidHost(host: string): boolean {
  const length = host.length;
  if (length === 0 || length > MAX_HOST_LENGTH) return false;
  let i = 0;
  if (host.charCodeAt(0) === 0x5b) {
    i = 1;
    while (i < length && isIpv6Char(host.charCodeAt(i))) i++;
    if (i === 1 || i >= length || host.charCodeAt(i) !== 0x5d) return false;
    i++;
  } else {
    while (i < length && isNameChar(host.charCodeAt(i))) i++;
    if (i === 0) return false;
  }
  if (i === length) return true;
  if (host.charCodeAt(i) !== 0x3a) return false;
  const digits = length - i - 1;
  if (digits < 1 || digits > 5) return false;
  for (let k = i + 1; k < length; k++) {
    const c = host.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function isNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f
  );
}

function isIpv6Char(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x61 && c <= 0x66) ||
    (c >= 0x41 && c <= 0x46) ||
    c === 0x3a ||
    c === 0x2e
  );
}
