/** Shortest site admin credential accepted: 32 characters of base64 carry 192 bits. */
export const MIN_ADMIN_CREDENTIAL_LENGTH = 32;
/**
 * Fewest distinct characters: 32 characters drawn from 8 symbols carry at most 96
 * bits. Random hex of that length has fewer with odds below 1 in 10^7.
 */
export const MIN_ADMIN_CREDENTIAL_DISTINCT = 8;

const HOW_TO_MAKE =
  "make one with `openssl rand -base64 33` or `node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"`";

/**
 * Why `PATGATE_ADMIN_TOKEN` cannot guard the admin API, as one line for the
 * operator, or null when it can (or is not set: then only org admins can call).
 * The site credential opens every org, so a guessable one is refused at startup
 * rather than found out later: too short, a unit repeated (`aaaa...`,
 * `abcabc...`, a secret pasted twice), too few distinct characters, or
 * characters that cannot travel in an `Authorization: Bearer` header.
 */
export function adminCredentialWeakness(value: string | undefined): string | null {
  if (value === undefined) return null;
  const problem = weakness(value);
  return problem === null ? null : `PATGATE_ADMIN_TOKEN ${problem}; ${HOW_TO_MAKE}`;
}

function weakness(value: string): string | null {
  if (value === '') return 'is set but empty (unset it to run without a site admin)';
  // Printable ASCII without spaces: the admin listener reads the credential as `Bearer (\S+)`.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    return 'has spaces, control or non-ASCII characters, which an Authorization header cannot carry';
  }
  if (value.length < MIN_ADMIN_CREDENTIAL_LENGTH) {
    return `is ${value.length} characters long; at least ${MIN_ADMIN_CREDENTIAL_LENGTH} are needed`;
  }
  const period = shortestPeriod(value);
  if (period <= value.length / 2) {
    // Never echo any of it: a refused secret may still be one used elsewhere.
    return `repeats a ${period}-character unit, so it is no stronger than that unit`;
  }
  const distinct = new Set(value).size;
  if (distinct < MIN_ADMIN_CREDENTIAL_DISTINCT) {
    return `uses only ${distinct} distinct characters; a random one uses many more`;
  }
  return null;
}

/**
 * The smallest p such that value[i] === value[i + p] for every i: the length of
 * the unit the string repeats (the whole length if it repeats nothing). KMP's
 * failure function gives it in linear time: p = n - (longest proper border).
 */
export function shortestPeriod(value: string): number {
  const n = value.length;
  const border = new Array<number>(n).fill(0);
  let k = 0;
  for (let i = 1; i < n; i++) {
    while (k > 0 && value[i] !== value[k]) k = border[k - 1] ?? 0;
    if (value[i] === value[k]) k++;
    border[i] = k;
  }
  return n - (n === 0 ? 0 : (border[n - 1] ?? 0));
}
