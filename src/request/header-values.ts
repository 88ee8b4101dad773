import { isOws, matchesAsciiFolded } from '../text/ascii.js';

const CHUNKED = 'chunked';
const MAX_HOST_LENGTH = 261; // 255-byte DNS name + ":" + 5-digit port

/** Whether a Transfer-Encoding value is `chunked` alone (RFC 9112 §6.1), ASCII case-insensitive. */
export function isChunkedOnly(value: string): boolean {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return end - start === CHUNKED.length && matchesAsciiFolded(value, start, CHUNKED);
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
