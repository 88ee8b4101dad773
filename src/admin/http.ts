import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { formatPath } from '../config/load.js';
import { JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE, type Problem, problem } from '../gateway/problem.js';
import { prefersPlainJson } from '../request/accept.js';

/** The admin API's body limit, enforced while the body streams (`limitBody`, installed app-wide). */
export const ADMIN_MAX_BODY_BYTES = 64 * 1024;

/** A refusal the admin API answers with problem+json. Thrown by handlers, answered by `onError`. */
export class HttpProblem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export function problemJson(c: Context, p: HttpProblem): Response {
  return writeProblem(c, { ...problem(p.code, p.status, p.title, p.detail), ...p.extra });
}

/**
 * The Hono transport's writer of a problem+json answer, as `gateway/write-refusal.ts` is the
 * Node response's and the raw socket's: the same body, content type and caching everywhere.
 */
export function writeProblem(
  c: Context,
  body: Problem,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return c.json(body, body.status as ContentfulStatusCode, {
    ...headers,
    'content-type': prefersPlainJson(c.req.header('accept')) ? JSON_CONTENT_TYPE : PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
  });
}

export function invalid(field: string, message: string, status: 400 | 422 = 400): HttpProblem {
  return new HttpProblem(status, 'invalid_input', 'Invalid input', `${field}: ${message}`, { field });
}

export function notFound(what: string): HttpProblem {
  return new HttpProblem(404, 'not_found', 'Not Found', `no ${what}`);
}

/** Validates with a zod schema; the first issue becomes a 400 naming the field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, fieldPrefix = ''): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    let path = issue === undefined ? [] : issue.path;
    let message = issue?.message ?? 'invalid';
    if (issue?.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
      const first = issue.keys[0];
      if (first !== undefined) path = [...path, first];
    }
    const formatted = formatPath(path);
    throw invalid(
      formatted === '(top level)' ? fieldPrefix || 'body' : `${fieldPrefix}${formatted}`,
      message,
    );
  }
  return result.data;
}

/**
 * Reads a JSON body; anything else is a 400 naming the problem. The size is not
 * checked here: by the time a handler reads, `limitBody` has already cut off a
 * body over the limit, while it streamed.
 */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw invalid('content-type', 'expected application/json');
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid('body', 'not valid JSON');
  }
}

/** A body is optional on some calls (regenerate, deny): absent means `{}`. */
export async function readOptionalJson(c: Context): Promise<unknown> {
  const length = c.req.header('content-length');
  const chunked = c.req.header('transfer-encoding') !== undefined;
  if ((length === undefined || length === '0') && !chunked) return {};
  return readJson(c);
}
