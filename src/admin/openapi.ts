import { createHash } from 'node:crypto';
import type { Handler } from 'hono';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE } from '../gateway/problem.js';
import { type AdminOperation, type Caller, PATH_PARAMETERS } from './admin-operations.js';
import { ADMIN_MAX_BODY_BYTES } from './http.js';

type JsonObject = Record<string, unknown>;

/** `/v1/orgs/:org` → `/v1/orgs/{org}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** The path parameters of a Hono path, in order. */
function pathParameterNames(honoPath: string): string[] {
  return [...honoPath.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? '');
}

/**
 * What a client sends, so `io: 'input'`: a `.default()` makes a field optional, a transform
 * is described by what it accepts. Unrepresentable checks say so with `.meta()` beside them.
 */
function jsonSchemaOf(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonObject;
  return rest;
}

const SECURITY: Readonly<Record<Caller, readonly JsonObject[]>> = {
  anyone: [],
  site: [{ siteAdmin: [] }],
  org: [{ siteAdmin: [] }, { orgAdminToken: [] }],
  user: [{ userToken: [] }],
};

/** Refusals every authenticated call can get, by name in `components.responses`. */
const AUTHENTICATED_REFUSALS: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'TooManyFailures',
  500: 'Internal',
  503: 'StoreUnavailable',
};

const PROBLEM_RESPONSES: Readonly<Record<string, string>> = {
  BadRequest: 'invalid input: the problem names the field (`field`)',
  Unauthorized: 'no credential, or one that is unknown, revoked or expired',
  Forbidden: 'a valid credential that may not make this call',
  NotFound: 'no such endpoint, token, member or invitation',
  TooLarge: `request body over ${ADMIN_MAX_BODY_BYTES / 1024} KiB (the connection is closed)`,
  TooManyFailures: 'too many failed authentications from this address; retry after `Retry-After` seconds',
  Internal: 'the request failed; nothing about why is disclosed',
  StoreUnavailable: 'the store cannot be reached; retry after `Retry-After` seconds',
};

function problemResponse(description: string): JsonObject {
  return {
    description,
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

function operationObject(op: AdminOperation): JsonObject {
  const names = pathParameterNames(op.path);
  const parameters: JsonObject[] = names.map((name) => {
    const schema = op.params?.[name] ?? PATH_PARAMETERS[name];
    if (schema === undefined) throw new Error(`${op.path}: no schema for the path parameter "${name}"`);
    const { description, ...json } = jsonSchemaOf(schema);
    return {
      name,
      in: 'path',
      required: true,
      ...(description === undefined ? {} : { description }),
      schema: json,
    };
  });
  if (op.query !== undefined) {
    const query = jsonSchemaOf(op.query);
    const required = new Set((query.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((query.properties as JsonObject | undefined) ?? {})) {
      parameters.push({ name, in: 'query', required: required.has(name), schema });
    }
  }

  const responses: JsonObject = {};
  for (const [status, description] of Object.entries(op.responses)) {
    const code = Number(status);
    responses[status] =
      code === 204 || code === 304
        ? { description }
        : code >= 400
          ? problemResponse(description)
          : { description, content: { 'application/json': { schema: { type: 'object' } } } };
  }
  const ref = (name: string): JsonObject => ({ $ref: `#/components/responses/${name}` });
  if (op.body !== undefined || names.includes('org') || names.includes('user') || op.query !== undefined) {
    responses['400'] = ref('BadRequest');
  }
  if (op.body !== undefined) responses['413'] = ref('TooLarge');
  if (names.length > 0) responses['404'] = ref('NotFound');
  if (op.caller !== 'anyone') {
    for (const [status, name] of Object.entries(AUTHENTICATED_REFUSALS)) responses[status] = ref(name);
  }
  for (const [status, description] of Object.entries(op.refusals ?? {})) {
    responses[status] = problemResponse(description);
  }

  const description = [op.description, op.when === undefined ? undefined : `Present only with ${op.when}.`]
    .filter((s) => s !== undefined)
    .join('\n\n');
  return {
    operationId: operationId(op),
    summary: op.summary,
    ...(description === '' ? {} : { description }),
    tags: [tagOf(op.path)],
    security: SECURITY[op.caller],
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(op.body === undefined
      ? {}
      : {
          requestBody: {
            required: op.body.required,
            content: { 'application/json': { schema: jsonSchemaOf(op.body.schema) } },
          },
        }),
    responses: sortedByKey(responses),
  };
}

/** `post /v1/orgs/:org/token-requests/:id/approve` → `postV1OrgsOrgTokenRequestsIdApprove`. */
function operationId(op: AdminOperation): string {
  const words = op.path.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  return op.method + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function tagOf(path: string): string {
  if (path.startsWith('/v1/orgs/')) return 'organizations';
  if (path.startsWith('/v1/user/')) return 'user';
  if (path.startsWith('/v1/tokens')) return 'tokens';
  if (path.startsWith('/v1/')) return 'site';
  return 'operations';
}

function sortedByKey(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** The OpenAPI 3.1 document of `operations`: paths, parameters, bodies, security and problems. */
export function buildOpenApiDocument(operations: readonly AdminOperation[]): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const op of operations) {
    const path = openApiPath(op.path);
    const item = paths[path] ?? {};
    paths[path] = item;
    if (item[op.method] !== undefined) throw new Error(`${op.method} ${op.path} is described twice`);
    item[op.method] = operationObject(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'patgate admin API',
      version: 'v1',
      description:
        'The admin API on the admin listener (`admin.listen`): JSON in and out, RFC 9457 problem+json errors. Keep the listener on a private network.',
    },
    tags: [
      { name: 'tokens', description: 'issuing and managing tokens (site admin)' },
      { name: 'organizations', description: 'policy, members, invitations, approval, audit of one org' },
      { name: 'user', description: 'what a person does for themselves, with one of their own tokens' },
      { name: 'site', description: 'the whole gateway (site admin)' },
      { name: 'operations', description: 'health, readiness, metrics, keys; no credential' },
    ],
    paths,
    components: {
      securitySchemes: {
        siteAdmin: {
          type: 'http',
          scheme: 'bearer',
          description: 'the site admin credential, `PATGATE_ADMIN_TOKEN`: may make every call',
        },
        orgAdminToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            "an org admin's own fine-grained patgate token for the org in the path: active, allowed by the org's policy, its user an `admin` member, holding `organization_tokens:write` (`:read` for GETs)",
        },
        userToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            "any of the caller's own active patgate tokens (`/v1/user/...`); the site credential is refused",
        },
      },
      schemas: { Problem: PROBLEM_SCHEMA },
      responses: Object.fromEntries(
        Object.entries(PROBLEM_RESPONSES).map(([name, description]) => [name, problemResponse(description)]),
      ),
    },
  };
}

/** RFC 9457 problem details, as `gateway/problem.ts` writes them. */
const PROBLEM_SCHEMA: JsonObject = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri', description: `${PROBLEM_TYPE_BASE}{code}` },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    message: { type: 'string', description: 'the detail again, as GitHub clients show it' },
    documentation_url: { type: 'string', format: 'uri' },
    field: { type: 'string', description: 'the input field at fault (400, 422)' },
    errors: { type: 'array', items: { type: 'string' }, description: 'why a reload was refused (422)' },
  },
};

/**
 * Serves a document built once: unauthenticated and cacheable, with a strong ETag so a
 * client that has it gets 304.
 */
export function serveOpenApi(document: JsonObject): Handler {
  const text = JSON.stringify(document);
  const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`;
  const headers = { 'cache-control': 'public, max-age=300', etag };
  return function openApiDocument(c) {
    const match = c.req.header('if-none-match');
    if (match?.split(/\s*,\s*/).some((t) => t === etag || t === `W/${etag}` || t === '*')) {
      return c.body(null, 304, headers);
    }
    return c.body(text, 200, { ...headers, 'content-type': 'application/json; charset=utf-8' });
  };
}
