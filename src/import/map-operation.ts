import { z } from 'zod';
import type { Level } from '../config/permission.js';
import { type OpenApiOperation, operationLabel } from './openapi-operations.js';
import type { ImportRules, MapEntry, OperationOverride } from './rules-schema.js';

/** What a route needs, as permission texts (`feature:level`). */
export type RequirementSpec =
  | { readonly kind: 'public' }
  | {
      readonly kind: 'permissions';
      /** Any one set (OR), each needed together (AND). */
      readonly anyOf: readonly (readonly string[])[];
    };

export interface ResourceSpec {
  /** OpenAPI parameter names. */
  readonly owner: string;
  readonly repo?: string | undefined;
}

export type OperationMapping =
  | {
      readonly kind: 'route';
      readonly requirement: RequirementSpec;
      /** Where the requirement came from: `x-patgate-permission`, `rules.map[3]`, ... */
      readonly source: string;
      readonly resource: ResourceSpec | undefined;
    }
  | { readonly kind: 'unmapped'; readonly reason: string }
  | { readonly kind: 'error'; readonly error: string };

/** Tracks which parts of the rules were used, to point at dead rules. */
export interface RuleUsage {
  readonly mapEntries: Set<number>;
  readonly operations: Set<string>;
}

type Outcome = Pick<OperationOverride, 'permission' | 'any_of' | 'public' | 'skip'>;

function defaultLevel(method: string): Level {
  // RFC 9110 §9.2.1: GET, HEAD, OPTIONS (and TRACE) are safe methods.
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'TRACE'
    ? 'read'
    : 'write';
}

function asList<T>(value: T | readonly T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** `*` matches one segment, `**` any number of segments (zero included). */
export function globMatches(glob: string, path: string): boolean {
  const g = glob.split('/');
  const p = path.split('/');
  const at = (i: number, j: number): boolean => {
    if (i === g.length) return j === p.length;
    const part = g[i];
    if (part === '**') {
      for (let k = j; k <= p.length; k++) if (at(i + 1, k)) return true;
      return false;
    }
    if (j === p.length) return false;
    return (part === '*' || part === p[j]) && at(i + 1, j + 1);
  };
  return at(0, 0);
}

function entryMatches(entry: MapEntry, op: OpenApiOperation): boolean {
  const categories = asList(entry.category);
  if (categories !== undefined && (op.category === undefined || !categories.includes(op.category)))
    return false;
  const subcategories = asList(entry.subcategory);
  if (
    subcategories !== undefined &&
    (op.subcategory === undefined || !subcategories.includes(op.subcategory))
  )
    return false;
  const tags = asList(entry.tag);
  if (tags !== undefined && !op.tags.some((t) => tags.includes(t))) return false;
  const paths = asList(entry.path);
  if (paths !== undefined && !paths.some((glob) => globMatches(glob, op.path))) return false;
  if (entry.methods !== undefined && !entry.methods.includes(op.method)) return false;
  return true;
}

function resolveRef(ref: string, level: Level): string {
  return ref.includes(':') ? ref : `${ref}:${level}`;
}

function fromOutcome(outcome: Outcome, level: Level): RequirementSpec | { skip: string } | undefined {
  if (outcome.skip !== undefined) return { skip: outcome.skip };
  if (outcome.public === true) return { kind: 'public' };
  if (outcome.any_of !== undefined) {
    return { kind: 'permissions', anyOf: outcome.any_of.map((set) => set.map((r) => resolveRef(r, level))) };
  }
  const all = asList(outcome.permission);
  if (all !== undefined) return { kind: 'permissions', anyOf: [all.map((r) => resolveRef(r, level))] };
  return undefined;
}

const PERMISSION_REF = /^[a-z][a-z0-9_]*(:(read|write|admin))?$/;

// Shapes only: each text is then checked on its own, so the error can name it.
const extensionPermission = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.strictObject({ any_of: z.array(z.array(z.string()).min(1)).min(1) }),
]);

const extensionResource = z.strictObject({ owner: z.string().min(1), repo: z.string().min(1).optional() });

/** Reads `x-patgate-permission` / `-public` / `-resource`; undefined when the operation has none. */
function fromExtensions(
  op: OpenApiOperation,
  level: Level,
): { requirement: RequirementSpec; resource: ResourceSpec | undefined } | { error: string } | undefined {
  const hasPermission = op.xPermission !== undefined;
  const isPublic = op.xPublic === true;
  if (op.xPublic !== undefined && typeof op.xPublic !== 'boolean') {
    return { error: 'x-patgate-public must be true or false' };
  }
  if (hasPermission && isPublic) return { error: 'has both x-patgate-permission and x-patgate-public: true' };

  let resource: ResourceSpec | undefined;
  if (op.xResource !== undefined) {
    const parsed = extensionResource.safeParse(op.xResource);
    if (!parsed.success)
      return { error: 'x-patgate-resource must be { owner: "<param>", repo?: "<param>" }' };
    if (isPublic) return { error: 'a public operation names no resource (x-patgate-resource)' };
    resource = parsed.data;
  }
  if (isPublic) return { requirement: { kind: 'public' }, resource: undefined };
  if (!hasPermission)
    return resource === undefined ? undefined : { error: 'x-patgate-resource without x-patgate-permission' };

  const parsed = extensionPermission.safeParse(op.xPermission);
  if (!parsed.success) {
    return {
      error: 'x-patgate-permission must be "feature:level", a list of them, or { any_of: [[...], ...] }',
    };
  }
  const value = parsed.data;
  const sets = typeof value === 'string' ? [[value]] : Array.isArray(value) ? [value] : value.any_of;
  const bad = sets.flat().find((ref) => !PERMISSION_REF.test(ref));
  if (bad !== undefined)
    return { error: `x-patgate-permission: "${bad}" is not "feature" or "feature:level"` };
  return {
    requirement: { kind: 'permissions', anyOf: sets.map((set) => set.map((r) => resolveRef(r, level))) },
    resource,
  };
}

/**
 * What one operation becomes. Precedence: an outcome in `rules.operations` (the
 * operator's last word), then the document's `x-patgate-*` extensions (the API's
 * own statement), then the first matching `rules.map` entry. A level-only override
 * changes the level of whichever applies. No source: unmapped, so denied.
 */
export function mapOperation(op: OpenApiOperation, rules: ImportRules, usage: RuleUsage): OperationMapping {
  const override = op.operationId === undefined ? undefined : rules.operations[op.operationId];
  if (override !== undefined && op.operationId !== undefined) usage.operations.add(op.operationId);
  const methodLevel = rules.methods[op.method] ?? defaultLevel(op.method);
  const level = override?.level ?? methodLevel;

  if (override !== undefined) {
    const result = fromOutcome(override, level);
    if (result !== undefined) {
      const source = `rules.operations["${op.operationId}"]`;
      if ('skip' in result) return { kind: 'unmapped', reason: `skipped by ${source}: ${result.skip}` };
      return { kind: 'route', requirement: result, source, resource: undefined };
    }
  }

  const extension = fromExtensions(op, level);
  if (extension !== undefined) {
    if ('error' in extension) return { kind: 'error', error: `${operationLabel(op)}: ${extension.error}` };
    return {
      kind: 'route',
      requirement: extension.requirement,
      source: extension.requirement.kind === 'public' ? 'x-patgate-public' : 'x-patgate-permission',
      resource: extension.resource,
    };
  }

  const index = rules.map.findIndex((entry) => entryMatches(entry, op));
  const entry = rules.map[index];
  if (entry === undefined) {
    return { kind: 'unmapped', reason: 'no x-patgate-permission or x-patgate-public, and no rule matches' };
  }
  usage.mapEntries.add(index);
  const result = fromOutcome(entry, override?.level ?? entry.level ?? methodLevel);
  const source = `rules.map[${index}]`;
  if (result === undefined) return { kind: 'error', error: `${source} has no outcome` };
  if ('skip' in result) return { kind: 'unmapped', reason: `skipped by ${source}: ${result.skip}` };
  return { kind: 'route', requirement: result, source, resource: undefined };
}
