/**
 * An RFC 9457 problem details object, as every gateway and admin error body. `message` and
 * `documentation_url` are GitHub's error members (RFC 9457 §3.2 extensions), the ones Octokit and
 * gh show: the detail, and where the problem type is explained.
 */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly message: string;
  readonly documentation_url: string;
  readonly required_permissions?: readonly (readonly string[])[];
  readonly [extension: string]: unknown;
}

/** The namespace of every problem `type` patgate answers with, gateway and admin API alike. */
export const PROBLEM_TYPE_BASE = 'https://patgate.dev/problems/';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** The same members for a client that prefers plain JSON (see `request/accept.ts`). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** What every answer that asks a client to come back later says in `Retry-After` (seconds). */
export const RETRY_AFTER_SECONDS = '1';

export function problem(code: string, status: number, title: string, detail: string): Problem {
  const type = PROBLEM_TYPE_BASE + code;
  return { type, title, status, detail, message: detail, documentation_url: type };
}
