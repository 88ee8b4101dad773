import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { formatPath } from '../config/load.js';
import type { Problem } from '../gateway/problem.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { StoreConflictError, StoreUnavailableError } from '../store/errors.js';
import type { GrantStore } from '../store/grant-store.js';
import { timingSafeEqualString } from '../tokens/constant-time.js';
import { isTokenId } from '../tokens/format.js';
import { createTokenInput, listTokensQuery, regenerateTokenInput } from './token-input.js';
import { InputError, type TokenService } from './token-service.js';
import { tokenView } from './token-view.js';

export interface AdminAppOptions {
  readonly store: GrantStore;
  readonly tokens: TokenService;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The site admin credential; undefined disables every authenticated call. */
  readonly adminToken: string | undefined;
}

const PROBLEM_BASE = 'https://patgate.dev/problems/';
const MAX_BODY_BYTES = 64 * 1024;

class HttpProblem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

function problemJson(c: Context, p: HttpProblem): Response {
  const body: Problem = {
    type: PROBLEM_BASE + p.code,
    title: p.title,
    status: p.status,
    detail: p.detail,
    ...p.extra,
  };
  return c.json(body, p.status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
}

function invalid(field: string, message: string, status: 400 | 422 = 400): HttpProblem {
  return new HttpProblem(status, 'invalid_input', 'Invalid input', `${field}: ${message}`, { field });
}

function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue === undefined ? [] : issue.path;
    let message = issue?.message ?? 'invalid';
    if (issue?.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.join(', ')}`;
    throw invalid(formatPath(path) === '(top level)' ? 'body' : formatPath(path), message);
  }
  return result.data;
}

async function readJson(c: Context): Promise<unknown> {
  const length = Number(c.req.header('content-length') ?? '0');
  if (length > MAX_BODY_BYTES)
    throw new HttpProblem(413, 'too_large', 'Payload too large', 'body over 64 KiB');
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw invalid('content-type', 'expected application/json');
  }
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES)
    throw new HttpProblem(413, 'too_large', 'Payload too large', 'body over 64 KiB');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid('body', 'not valid JSON');
  }
}

function requireTokenId(id: string): string {
  if (!isTokenId(id)) throw new HttpProblem(404, 'not_found', 'Not Found', `no token ${JSON.stringify(id)}`);
  return id;
}

/** The admin API: JSON over HTTP on the admin listener, site admin credential. */
export function createAdminApp(options: AdminAppOptions): Hono {
  const { store, tokens, metrics, logger, adminToken } = options;
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof HttpProblem) return problemJson(c, error);
    if (error instanceof InputError) return problemJson(c, invalid(error.field, error.message, error.status));
    if (error instanceof StoreUnavailableError) {
      c.header('retry-after', '1');
      return problemJson(
        c,
        new HttpProblem(503, 'store_unavailable', 'Store unavailable', 'the store cannot be reached'),
      );
    }
    if (error instanceof StoreConflictError) {
      return problemJson(
        c,
        new HttpProblem(409, 'conflict', 'Conflict', 'a token with that id already exists; retry'),
      );
    }
    logger.error({ err: error }, 'admin API error');
    return problemJson(c, new HttpProblem(500, 'internal', 'Internal error', 'the request failed'));
  });
  app.notFound((c) => problemJson(c, new HttpProblem(404, 'not_found', 'Not Found', 'no such endpoint')));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await store.ping();
      return c.json({ status: 'ready' });
    } catch {
      return c.json({ status: 'store unreachable' }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    const text = await metrics.registry.metrics();
    return c.text(text, 200, { 'content-type': metrics.registry.contentType });
  });

  app.use('/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer +(\S+)$/i.exec(header);
    const presented = match?.[1];
    if (
      adminToken === undefined ||
      presented === undefined ||
      !timingSafeEqualString(presented, adminToken)
    ) {
      c.header('www-authenticate', 'Bearer realm="patgate-admin"');
      throw new HttpProblem(401, 'unauthorized', 'Unauthorized', 'a valid admin credential is required');
    }
    await next();
  });

  app.post('/v1/tokens', async (c) => {
    const input = parseInput(createTokenInput, await readJson(c));
    const created = await tokens.create(input);
    logger.info(
      { token_id: created.record.id, user: created.record.user, kind: created.record.kind },
      'token created',
    );
    return c.json({ ...tokenView(created.record), token: created.token }, 201, {
      'cache-control': 'no-store',
    });
  });

  app.get('/v1/tokens', async (c) => {
    const filter = parseInput(listTokensQuery, c.req.query());
    const list = await store.listTokens({
      ...(filter.user === undefined ? {} : { user: filter.user.toLowerCase() }),
      ...(filter.resource_owner === undefined ? {} : { resourceOwner: filter.resource_owner.toLowerCase() }),
      ...(filter.status === undefined ? {} : { status: filter.status }),
    });
    return c.json({ tokens: list.map((t) => tokenView(t)) });
  });

  app.get('/v1/tokens/:id', async (c) => {
    const id = requireTokenId(c.req.param('id'));
    const record = await store.getToken(id);
    if (record === null) throw new HttpProblem(404, 'not_found', 'Not Found', `no token ${id}`);
    return c.json(tokenView(record, await store.getLastUsed(id)));
  });

  app.delete('/v1/tokens/:id', async (c) => {
    const id = requireTokenId(c.req.param('id'));
    const record = await store.setTokenStatus(id, 'revoked', 'revoked by site admin');
    if (record === null) throw new HttpProblem(404, 'not_found', 'Not Found', `no token ${id}`);
    logger.info({ token_id: id }, 'token revoked');
    return c.json(tokenView(record));
  });

  app.post('/v1/tokens/:id/regenerate', async (c) => {
    const id = requireTokenId(c.req.param('id'));
    const hasBody = (c.req.header('content-length') ?? '0') !== '0';
    const input = parseInput(regenerateTokenInput, hasBody ? await readJson(c) : {});
    const created = await tokens.regenerate(id, input);
    if (created === null) throw new HttpProblem(404, 'not_found', 'Not Found', `no token ${id}`);
    logger.info({ token_id: id }, 'token regenerated');
    return c.json({ ...tokenView(created.record), token: created.token }, 200, {
      'cache-control': 'no-store',
    });
  });

  return app;
}
