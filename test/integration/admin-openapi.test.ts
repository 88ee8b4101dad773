import { validate } from '@readme/openapi-parser';
import type { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAdminApp } from '../../src/admin/app.js';
import type { AdminEnv } from '../../src/admin/context.js';
import { openApiPath } from '../../src/admin/openapi.js';
import { policyInput } from '../../src/admin/org-input.js';
import { createTokenInput } from '../../src/admin/token-input.js';
import { TokenService } from '../../src/admin/token-service.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { MemoryAuditLog } from '../../src/store/memory-audit-log.js';
import { MemoryGrantStore } from '../../src/store/memory-store.js';
import { MemoryWebhookStore } from '../../src/store/webhook-memory-store.js';

/**
 * `GET /openapi.json`: generated from the zod schemas that validate the input, so it cannot
 * drift from the handlers; and every route the app registers must be in it.
 */
type Operation = {
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
};

/** Every option that adds routes is given, so every route the admin API can have is registered. */
function fullAdminApp(): Hono<AdminEnv> {
  const store = new MemoryGrantStore();
  return createAdminApp({
    store,
    audit: new MemoryAuditLog(100),
    tokens: new TokenService(store, () => ({ issues: ['read', 'write'] })),
    metrics: new Metrics(),
    logger: createLogger('silent'),
    adminToken: 'test-admin-token-0123456789abcdef',
    jwks: { keys: [] },
    reload: async () => ({ ok: true, routes: { added: [], removed: [], changed: [] }, restartRequired: [] }),
    webhooks: { store: new MemoryWebhookStore(), allowPrivateTargets: false },
  });
}

let app: Hono<AdminEnv>;
let doc: Document;

beforeAll(async () => {
  app = fullAdminApp();
  const answer = await app.request('/openapi.json');
  expect(answer.status).toBe(200);
  doc = (await answer.json()) as Document;
});

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('describes exactly the routes registered on the app: a route without a description fails here', () => {
    const registered = app.routes
      // `app.use` middleware is registered as ALL; routes have their method.
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`);
    const described = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    expect(registered.length).toBeGreaterThan(30);
    expect(new Set(registered).size).toBe(registered.length);
    expect([...described].sort()).toEqual([...registered].sort());
  });

  it('bodies are the schemas the handlers validate with', () => {
    const create = doc.paths['/v1/tokens']?.post;
    expect(create?.requestBody?.required).toBe(true);
    expect(create?.requestBody?.content['application/json']?.schema).toEqual(jsonSchema(createTokenInput));
    const policy = doc.paths['/v1/orgs/{org}/policy']?.put?.requestBody?.content['application/json']?.schema;
    expect(policy).toEqual(jsonSchema(policyInput));
    expect(policy).toMatchObject({ additionalProperties: false, properties: { force: { type: 'boolean' } } });
    // The permission map is checked by code; its `.meta()` says what the check accepts.
    expect(JSON.stringify(create?.requestBody)).toContain(
      '"additionalProperties":{"enum":["read","write","admin"]}',
    );
    // An absent body means `{}` on revocations.
    expect(doc.paths['/v1/tokens/{id}']?.delete?.requestBody?.required).toBe(false);
  });

  it('path and query parameters, with the schemas that check them', () => {
    const members = doc.paths['/v1/orgs/{org}/members/{user}']?.put;
    expect(members?.parameters?.map((p) => [p.name, p.in, p.required])).toEqual([
      ['org', 'path', true],
      ['user', 'path', true],
    ]);
    expect(members?.parameters?.[0]?.schema.pattern).toBeDefined();
    const audit = doc.paths['/v1/audit']?.get?.parameters ?? [];
    expect(audit.map((p) => [p.name, p.in, p.required])).toEqual([
      ['org', 'query', false],
      ['token', 'query', false],
      ['user', 'query', false],
      ['limit', 'query', false],
    ]);
    expect(audit.find((p) => p.name === 'limit')?.schema).toMatchObject({ maximum: 1000, default: 100 });
  });

  it('security: the site credential, an org admin token on org calls, none on the public ones', () => {
    const schemes = doc.components.securitySchemes;
    expect(Object.values(schemes).every((s) => s.type === 'http' && s.scheme === 'bearer')).toBe(true);
    expect(doc.paths['/v1/tokens']?.post?.security).toEqual([{ siteAdmin: [] }]);
    expect(doc.paths['/v1/admin/reload']?.post?.security).toEqual([{ siteAdmin: [] }]);
    expect(doc.paths['/v1/orgs/{org}/tokens']?.get?.security).toEqual([
      { siteAdmin: [] },
      { orgAdminToken: [] },
    ]);
    expect(doc.paths['/v1/user/invitations']?.get?.security).toEqual([{ userToken: [] }]);
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    // Every /v1 call may be refused 401/403, answered with problem+json.
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const op of Object.values(item)) {
        expect(op.security.length, path).toBeGreaterThan(0);
        expect(op.responses['401']?.$ref, path).toBe('#/components/responses/Unauthorized');
        expect(op.responses['403']?.$ref, path).toBe('#/components/responses/Forbidden');
      }
    }
  });

  it('problem+json errors, named in the operation', () => {
    const create = doc.paths['/v1/tokens']?.post;
    expect(create?.responses['400']?.$ref).toBe('#/components/responses/BadRequest');
    expect(create?.responses['413']?.$ref).toBe('#/components/responses/TooLarge');
    expect(create?.responses['422']?.content).toHaveProperty(['application/problem+json']);
    expect(doc.paths['/v1/admin/reload']?.post?.responses['422']?.content).toHaveProperty([
      'application/problem+json',
    ]);
  });

  it('is served without a credential, cacheable, and answers 304 to its ETag', async () => {
    const first = await app.request('/openapi.json');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.request('/openapi.json', { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const stale = await app.request('/openapi.json', { headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
  });
});
