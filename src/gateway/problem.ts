/** An RFC 9457 problem details object, as every gateway and admin error body. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly required_permissions?: readonly (readonly string[])[];
  readonly [extension: string]: unknown;
}

/** The namespace of every problem `type` patgate answers with, gateway and admin API alike. */
export const PROBLEM_TYPE_BASE = 'https://patgate.dev/problems/';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** What every answer that asks a client to come back later says in `Retry-After` (seconds). */
export const RETRY_AFTER_SECONDS = '1';

export function problem(code: string, status: number, title: string, detail: string): Problem {
  return { type: PROBLEM_TYPE_BASE + code, title, status, detail };
}
