import { z } from 'zod';
import { LEVELS } from '../grants/permission.js';

/** `host:port`, `[v6]:port` or `:port`. Port 0 asks the OS for a free one. */
const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected "host:port", e.g. "127.0.0.1:8080"')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const permissionText = z.string().min(1);

const routeSchema = z
  .strictObject({
    route: z.string().min(1),
    permission: z.union([permissionText, z.array(permissionText).min(1)]).optional(),
    any_of: z.array(z.array(permissionText).min(1)).min(1).optional(),
    public: z.literal(true).optional(),
    resource: z
      .strictObject({
        owner: z.string().min(1),
        repo: z.string().min(1).optional(),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    const kinds = [r.permission !== undefined, r.any_of !== undefined, r.public === true].filter(
      Boolean,
    ).length;
    if (kinds !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'a route needs exactly one of "permission", "any_of" or "public: true"',
      });
    }
    if (r.public === true && r.resource !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['resource'], message: 'a public route names no resource' });
    }
  });

export const configSchema = z.strictObject({
  listen: listenAddress.default('127.0.0.1:8080'),
  upstream: z.strictObject({
    url: httpUrl,
    timeout_ms: z.int().positive().max(3_600_000).default(30_000),
    connect_timeout_ms: z.int().positive().max(600_000).default(5_000),
    connections: z.int().positive().max(10_000).default(128),
  }),
  store: z
    .strictObject({
      redis_url: z
        .string()
        .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
        .optional(),
      key_prefix: z
        .string()
        .regex(/^[A-Za-z0-9:_.-]*$/, 'letters, digits and : _ . - only')
        .default('patgate:'),
      command_timeout_ms: z.int().positive().max(60_000).default(500),
    })
    .default({ key_prefix: 'patgate:', command_timeout_ms: 500 }),
  cache: z
    .strictObject({
      max_entries: z.int().positive().max(10_000_000).default(100_000),
      ttl_ms: z.int().positive().max(86_400_000).default(10_000),
      negative_ttl_ms: z.int().positive().max(86_400_000).default(1_000),
    })
    .default({ max_entries: 100_000, ttl_ms: 10_000, negative_ttl_ms: 1_000 }),
  admin: z
    .strictObject({
      listen: listenAddress,
    })
    .default({ listen: '127.0.0.1:8081' }),
  features: z.record(
    z.string().regex(/^[a-z][a-z0-9_]*$/, 'feature names are lowercase letters, digits and _'),
    z.array(z.enum(LEVELS)).min(1),
  ),
  routes: z.array(routeSchema),
  implicit: z.array(permissionText).default([]),
  unmatched: z.literal('deny').default('deny'),
  hide_forbidden: z.boolean().default(true),
  shutdown_grace_ms: z.int().nonnegative().max(600_000).default(10_000),
});

/** The config as written by the operator, after defaults. */
export type Config = z.infer<typeof configSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
