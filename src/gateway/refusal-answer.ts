import type { ServerResponse } from 'node:http';
import { type RequestRefusal, refusalStatus } from '../request/refusal.js';
import { PROBLEM_TYPE_BASE, type ProblemResponse } from './problem.js';
import { writeProblem } from './write-problem.js';

/** Sent with answers after which the connection cannot carry another request. */
export const CLOSE_CONNECTION: Readonly<Record<string, string>> = Object.freeze({ connection: 'close' });

/** The problem+json answer for a refusal of the request's shape. */
export function refusalProblem(refusal: RequestRefusal, detail: string): ProblemResponse {
  const { status, title } = refusalStatus(refusal);
  return {
    problem: { type: PROBLEM_TYPE_BASE + refusal, title, status, detail },
    headers: refusal === 'too_many_connections' ? RETRY_AFTER : NO_HEADERS,
  };
}

const RETRY_AFTER: Readonly<Record<string, string>> = Object.freeze({ 'retry-after': '1' });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Writes a refusal and closes the connection after it: the request's framing or body was not
 * read to its end (or cannot be trusted), so the connection cannot carry another request.
 */
export function writeRefusal(res: ServerResponse, refusal: RequestRefusal, detail: string): void {
  writeProblem(res, refusalProblem(refusal, detail), CLOSE_CONNECTION);
}
