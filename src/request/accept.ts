import { isOws } from '../text/ascii.js';

const PROBLEM = 'application/problem+json';

/**
 * Whether an `Accept` value prefers plain JSON (`application/json`, or a vendor `+json` type such
 * as GitHub's `application/vnd.github+json`) over `application/problem+json` (RFC 9110 §12.5.1,
 * by quality value; a tie keeps problem+json). GitHub's clients read error members only from a
 * JSON answer (Octokit parses `application/json` alone), and RFC 9457 §3 allows serving the same
 * members as `application/json`. Runs only when a refusal is written.
 */
export function prefersPlainJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  // The most specific range decides (RFC 9110 §12.5.1): a type named with q=0 is refused even
  // when a wildcard would take it.
  let json: number | undefined;
  let problem: number | undefined;
  let wildcard: number | undefined;
  for (const range of accept.split(',')) {
    const [typePart, ...params] = range.split(';');
    const type = (typePart ?? '').trim().toLowerCase();
    const q = qualityOf(params);
    if (type === '*/*' || type === 'application/*') wildcard = Math.max(wildcard ?? 0, q);
    else if (type === PROBLEM) problem = Math.max(problem ?? 0, q);
    else if (type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))) {
      json = Math.max(json ?? 0, q);
    }
  }
  return (json ?? wildcard ?? 0) > (problem ?? wildcard ?? 0);
}

function qualityOf(params: readonly string[]): number {
  for (const param of params) {
    let i = 0;
    while (i < param.length && isOws(param.charCodeAt(i))) i++;
    if ((param.charCodeAt(i) | 0x20) !== 0x71 || param.charCodeAt(i + 1) !== 0x3d) continue;
    const q = Number(param.slice(i + 2).trim());
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}
