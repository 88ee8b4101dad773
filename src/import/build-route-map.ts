import type { Level } from '../config/permission.js';
import {
  assembleRoutes,
  type ImportConflict,
  type ImportedRoute,
  type PendingUnmapped,
  type RouteCandidate,
  resolveResource,
  resolveUpstreamChecks,
  type UnmappedOperation,
} from './assemble-routes.js';
import { convertPath } from './convert-path.js';
import { mapOperation, type RuleUsage } from './map-operation.js';
import { operationLabel, readOperations } from './openapi-operations.js';
import { resourcesOutsidePath } from './outside-path.js';
import { type ImportRules, NO_RULES } from './rules-schema.js';

export type { ImportConflict, ImportedRoute, UnmappedOperation } from './assemble-routes.js';

/** A block of comment lines the YAML carries after the routes (e.g. endpoints read conservatively). */
export interface CommentBlock {
  readonly heading: readonly string[];
  readonly lines: readonly string[];
}

export interface RouteMapImport {
  readonly title: string;
  readonly version: string;
  readonly openapi: string;
  readonly operationCount: number;
  readonly routes: readonly ImportedRoute[];
  readonly features: Readonly<Record<string, readonly Level[]>>;
  readonly implicit: readonly string[];
  readonly unmapped: readonly UnmappedOperation[];
  readonly conflicts: readonly ImportConflict[];
  readonly warnings: readonly string[];
  /** What the map was made from, for the YAML's summary line; default: the OpenAPI document's title. */
  readonly sourceSummary?: string;
  /** A title per feature, written as a comment beside it. */
  readonly featureTitles?: Readonly<Record<string, string>>;
  /** Further comment blocks, after the conflicts and before the unmapped operations. */
  readonly commentBlocks?: readonly CommentBlock[];
}

export type ImportResult = { ok: true; imported: RouteMapImport } | { ok: false; errors: string[] };

/**
 * Turns an OpenAPI document (already parsed and validated) and optional rules into
 * a route map. Pure: the CLI reads the files and prints the result. Operations that
 * match the same requests become one route (see `assembleRoutes`).
 */
export function importOpenApi(document: unknown, rules: ImportRules = NO_RULES): ImportResult {
  const read = readOperations(document);
  if (!read.ok) return { ok: false, errors: [read.error] };
  const errors: string[] = [];
  const warnings: string[] = [];
  const usage: RuleUsage = { mapEntries: new Set(), operations: new Set() };
  const catchAll = new Set(rules.catch_all);

  const unmapped: PendingUnmapped[] = [];
  const candidates: RouteCandidate[] = [];
  for (const op of read.operations) {
    const conversion = convertPath(op.path, catchAll);
    const mapping = mapOperation(op, rules, usage);
    if (mapping.kind === 'error') {
      errors.push(mapping.error);
      continue;
    }
    if (!conversion.ok) {
      if (mapping.kind === 'route') errors.push(`${operationLabel(op)}: path ${conversion.error}`);
      else unmapped.push({ op, converted: undefined, reason: mapping.reason });
      continue;
    }
    const converted = conversion.converted;
    if (mapping.kind === 'unmapped') {
      unmapped.push({ op, converted, reason: mapping.reason });
      continue;
    }
    const resource = resolveResource(op, converted, mapping.resource, rules, errors);
    if (resource === null) continue;
    const isPublic = mapping.requirement.kind === 'public';
    const checks = isPublic
      ? { names: [], note: undefined }
      : resolveUpstreamChecks(op, converted, rules, errors);
    if (checks === null) continue;
    candidates.push({
      op,
      converted,
      requirement: mapping.requirement,
      resource,
      upstreamChecks: checks.names,
      source: mapping.source,
      // A public route checks no token, so there is nothing for another owner to differ from.
      outsidePath: isPublic ? [] : resourcesOutsidePath(op),
      notes: checks.note === undefined ? [] : [checks.note],
    });
  }

  warnings.push(...unusedRuleWarnings(rules, usage, new Set(read.operations.map((op) => op.operationId))));
  const result = assembleRoutes({ candidates, unmapped, rules, implicit: rules.implicit, errors, warnings });
  if (!result.ok) return result;
  const { routes, features, unmapped: listed, conflicts, warnings: all } = result.assembled;
  return {
    ok: true,
    imported: {
      title: read.title,
      version: read.version,
      openapi: read.openapi,
      operationCount: read.operations.length,
      routes,
      features,
      implicit: rules.implicit,
      unmapped: listed,
      conflicts,
      warnings: all,
    },
  };
}

/** Rules that mapped nothing: a `map` entry no operation matched, an override of an unknown operationId. */
export function unusedRuleWarnings(
  rules: ImportRules,
  usage: RuleUsage,
  known: ReadonlySet<string | undefined>,
): string[] {
  const warnings: string[] = [];
  for (const [i, entry] of rules.map.entries()) {
    if (!usage.mapEntries.has(i))
      warnings.push(`rules.map[${i}] (${describeEntry(entry)}) matched no operation`);
  }
  for (const id of Object.keys(rules.operations)) {
    if (!known.has(id)) warnings.push(`rules.operations["${id}"]: the document has no such operationId`);
  }
  return warnings;
}

function describeEntry(entry: ImportRules['map'][number]): string {
  const parts: string[] = [];
  for (const key of ['category', 'subcategory', 'tag', 'path', 'methods'] as const) {
    const value = entry[key];
    if (value !== undefined) parts.push(`${key}: ${Array.isArray(value) ? value.join(', ') : value}`);
  }
  return parts.join('; ');
}
