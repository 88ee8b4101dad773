import { z } from 'zod';
import { LEVELS } from '../config/permission.js';

/**
 * A permission in a rules file: `feature` (its level comes from the method) or
 * `feature:level` (fixed).
 */
const permissionRef = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(:(read|write|admin))?$/, 'expected "feature" or "feature:level"');

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const level = z.enum(LEVELS);

/** What an operation becomes. Exactly one of `permission`, `any_of`, `public`, `skip`. */
const outcomeFields = {
  /** Needed together (AND). */
  permission: oneOrMany(permissionRef).optional(),
  /** Any one set (OR of ANDs). */
  any_of: z.array(z.array(permissionRef).min(1)).min(1).optional(),
  public: z.literal(true).optional(),
  /** Leave the operation unmapped (denied); the text says why, in the output. */
  skip: z.string().min(1).optional(),
  /** Level for `feature` refs without one, instead of the method's. */
  level: level.optional(),
};

type OutcomeFields = {
  permission?: unknown;
  any_of?: unknown;
  public?: unknown;
  skip?: unknown;
};

function outcomeCount(o: OutcomeFields): number {
  return [o.permission, o.any_of, o.public, o.skip].filter((v) => v !== undefined).length;
}

/** Glob over OpenAPI paths: `*` is one segment, `**` any number (zero included); `{owner}` is literal text. */
const pathGlob = z.string().regex(/^\/\S*$/, 'expected a path glob starting with "/"');

const mapEntry = z
  .strictObject({
    category: oneOrMany(z.string().min(1)).optional(),
    subcategory: oneOrMany(z.string().min(1)).optional(),
    tag: oneOrMany(z.string().min(1)).optional(),
    path: oneOrMany(pathGlob).optional(),
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, 'upper-case method'))
      .min(1)
      .optional(),
    ...outcomeFields,
  })
  .superRefine((e, ctx) => {
    if ([e.category, e.subcategory, e.tag, e.path, e.methods].every((v) => v === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'an entry needs at least one of category, subcategory, tag, path, methods',
      });
    }
    if (outcomeCount(e) !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'an entry needs exactly one of permission, any_of, public, skip',
      });
    }
  });

/** A per-operation override: a full outcome, or only `level` to change the matched entry's level. */
const operationOverride = z.strictObject(outcomeFields).superRefine((o, ctx) => {
  const n = outcomeCount(o);
  if (n > 1) {
    ctx.addIssue({ code: 'custom', message: 'at most one of permission, any_of, public, skip' });
  }
  if (n === 0 && o.level === undefined) {
    ctx.addIssue({ code: 'custom', message: 'an override needs an outcome or a level' });
  }
});

const resourceRule = z.strictObject({
  path: oneOrMany(pathGlob),
  /** OpenAPI parameter names, as written in the document. */
  owner: z.string().min(1),
  repo: z.string().min(1).optional(),
});

/**
 * Path parameters the upstream authorizes itself, acknowledged on the route as
 * `upstream_checks` so that `routes check` does not report them (docs/routes.md).
 */
const upstreamCheckRule = z.strictObject({
  path: oneOrMany(pathGlob),
  /** OpenAPI parameter names, as written in the document; each must be in every matched path. */
  params: z.array(z.string().min(1)).min(1),
  /** Why the upstream's own check is enough: written beside the route for its reviewer. */
  why: z.string().min(1),
});

export const importRulesSchema = z.strictObject({
  /** Level per method for `feature` refs; GET, HEAD and OPTIONS default to read, the rest to write. */
  methods: z.record(z.string().regex(/^[A-Z]+$/, 'upper-case method'), level).default({}),
  /** Levels per feature; a feature not listed gets read up to the highest level used. */
  features: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_]*$/, 'feature names are lowercase letters, digits and _'),
      z.array(level).min(1),
    )
    .default({}),
  implicit: z.array(z.string().min(1)).default([]),
  /** Parameter names that become `{name+}` when they are the last segment (`path`, `ref`). */
  catch_all: z.array(z.string().min(1)).default([]),
  /** Resources for paths whose parameters the compiler does not recognise (`{username}`). */
  resources: z.array(resourceRule).default([]),
  /** First matching entry wins. */
  upstream_checks: z.array(upstreamCheckRule).default([]),
  /** First matching entry wins. */
  map: z.array(mapEntry).default([]),
  /** By operationId; wins over the document's extensions and over `map`. */
  operations: z.record(z.string().min(1), operationOverride).default({}),
});

export type ImportRules = z.infer<typeof importRulesSchema>;
export type MapEntry = ImportRules['map'][number];
export type OperationOverride = ImportRules['operations'][string];

/** No rules at all: only the document's own extensions map operations. */
export const NO_RULES: ImportRules = importRulesSchema.parse({});
