import {
  assembleRoutes,
  groupKey,
  opName,
  type PendingUnmapped,
  type RouteCandidate,
  resolveResource,
  resolveUpstreamChecks,
} from './assemble-routes.js';
import { type CommentBlock, type RouteMapImport, unusedRuleWarnings } from './build-route-map.js';
import { convertPath } from './convert-path.js';
import { mapOperation, type RuleUsage } from './map-operation.js';
import { multiSegmentTails } from './multi-segment-tails.js';
import { type OpenApiOperation, operationLabel, readOperations } from './openapi-operations.js';
import { resourcesOutsidePath } from './outside-path.js';
import {
  endpointKey,
  type PermissionTable,
  readPermissionTable,
  type TableEndpoint,
} from './permission-table.js';
import { type ImportRules, NO_RULES } from './rules-schema.js';
import { type AgreementReport, measureAgreement } from './table-agreement.js';
import { type TableReading, tableRequirement } from './table-requirement.js';

export interface PermissionTableImportOptions {
  /** A parsed, validated OpenAPI document: path shapes, `x-multi-segment` tails, query and body fields. */
  readonly document?: unknown;
  /** For what the table does not list, and catch_all, resources, upstream_checks, implicit, features. */
  readonly rules?: ImportRules;
}

/** An endpoint whose rows are flagged `additional-permissions`, and what its route requires. */
export interface ConservativeEndpoint {
  /** `METHOD /path` as the table writes it. */
  readonly endpoint: string;
  /** Every listed permission, all required together. */
  readonly requires: readonly string[];
  readonly reading: Extract<TableReading, 'together' | 'mixed'>;
}

export interface PermissionTableImport extends RouteMapImport {
  readonly table: PermissionTable;
  /** Endpoints read conservatively, in table order. */
  readonly conservative: readonly ConservativeEndpoint[];
  /** The written map checked against the table it came from. */
  readonly agreement: AgreementReport;
}

export type PermissionTableImportResult =
  | { ok: true; imported: PermissionTableImport }
  | { ok: false; errors: string[] };

/** GitHub grants `metadata:read` to every fine-grained token. */
const GITHUB_IMPLICIT = 'metadata:read';

const NOTE_TOGETHER =
  "GitHub's table flags additional permissions without saying how they combine: all required together (docs/github-map.md)";
const NOTE_MIXED =
  "GitHub's table lists this endpoint both flagged and not, which its generator never does: all required together (docs/github-map.md)";
const NOT_IN_TABLE = "not in GitHub's fine-grained permission table, and no rule maps it";

function tableOperation(endpoint: TableEndpoint): OpenApiOperation {
  return {
    method: endpoint.method,
    path: endpoint.path,
    operationId: undefined,
    tags: [],
    category: undefined,
    subcategory: undefined,
    xPermission: undefined,
    xPublic: undefined,
    xResource: undefined,
    queryParams: [],
    bodyFields: [],
    multiSegment: [],
  };
}

/**
 * Turns GitHub's fine-grained permission table into a route map, alone or merged with
 * GitHub's OpenAPI document. Pure: the CLI reads the files and prints the result.
 *
 * - An endpoint the table lists becomes a route requiring what the table says
 *   (`tableRequirement`: unflagged rows exactly, flagged ones all together). The table is
 *   GitHub's statement, so rules never change it; an operation the rules map that matches
 *   the same requests as a table endpoint is left unmapped instead.
 * - With a document, its operations give the path shapes, the `{name+}` tails (a last path
 *   parameter marked `x-multi-segment`, plus the rules' `catch_all`) and the owners and
 *   repositories taken in queries and bodies; table endpoints it lacks still become routes.
 *   Its operations the table does not list are mapped by the rules, or left unmapped.
 * - `metadata:read` is implicit, as GitHub grants it to every fine-grained token, with the
 *   rules' `implicit`.
 */
export function importPermissionTable(
  tableJson: unknown,
  options: PermissionTableImportOptions = {},
): PermissionTableImportResult {
  const rules = options.rules ?? NO_RULES;
  const readTable = readPermissionTable(tableJson);
  if (!readTable.ok) return { ok: false, errors: readTable.errors.map((e) => `table: ${e}`) };
  const table = readTable.table;
  let document:
    | { operations: OpenApiOperation[]; summary: string; title: string; version: string; openapi: string }
    | undefined;
  if (options.document !== undefined) {
    const read = readOperations(options.document);
    if (!read.ok) return { ok: false, errors: [read.error] };
    document = {
      operations: read.operations,
      summary: `${read.title} ${read.version} (OpenAPI ${read.openapi})`,
      title: read.title,
      version: read.version,
      openapi: read.openapi,
    };
  }

  const errors: string[] = [];
  const warnings: string[] = [];
  if (document === undefined) {
    warnings.push(
      `no OpenAPI document: only the rules' catch_all makes a last parameter a {name+} tail, so values holding "/" (file paths, refs) reach no route; pass --openapi for GitHub's x-multi-segment marks`,
    );
  }
  const byKey = new Map(table.endpoints.map((e) => [endpointKey(e.method, e.path), e]));
  const usage: RuleUsage = { mapEntries: new Set(), operations: new Set() };
  const tableCandidates: RouteCandidate[] = [];
  const ruleCandidates: RouteCandidate[] = [];
  const unmapped: PendingUnmapped[] = [];
  const conservative: ConservativeEndpoint[] = [];
  const tableOps = new Set<string>();

  const tails = multiSegmentTails(document?.operations ?? []);
  const candidateFor = (op: OpenApiOperation, endpoint: TableEndpoint): void => {
    const tail = tails.get(op);
    const conversion = convertPath(op.path, new Set([...rules.catch_all, ...(tail?.names ?? [])]));
    if (!conversion.ok) {
      errors.push(`${operationLabel(op)}: path ${conversion.error}`);
      return;
    }
    const converted = conversion.converted;
    const resource = resolveResource(op, converted, undefined, rules, errors);
    const checks = resolveUpstreamChecks(op, converted, rules, errors);
    if (resource === null || checks === null) return;
    const { anyOf, reading } = tableRequirement(endpoint);
    const notes: string[] = tail?.note === undefined ? [] : [tail.note];
    if (reading === 'together' || reading === 'mixed') {
      notes.push(reading === 'together' ? NOTE_TOGETHER : NOTE_MIXED);
      conservative.push({
        endpoint: `${endpoint.method} ${endpoint.path}`,
        requires: anyOf[0] ?? [],
        reading,
      });
    }
    if (checks.note !== undefined) notes.push(checks.note);
    tableCandidates.push({
      op,
      converted,
      requirement: { kind: 'permissions', anyOf },
      resource,
      upstreamChecks: checks.names,
      source: 'table',
      outsidePath: resourcesOutsidePath(op),
      notes,
    });
  };

  for (const op of document?.operations ?? []) {
    const endpoint = byKey.get(endpointKey(op.method, op.path));
    if (endpoint !== undefined) {
      tableOps.add(endpointKey(op.method, op.path));
      if (op.operationId !== undefined && Object.hasOwn(rules.operations, op.operationId)) {
        warnings.push(
          `rules.operations["${op.operationId}"]: not used: GitHub's table states this operation`,
        );
      }
      candidateFor(op, endpoint);
      continue;
    }
    mapByRules(op, tails.get(op)?.names ?? [], rules, usage, ruleCandidates, unmapped, errors);
  }
  for (const endpoint of table.endpoints) {
    if (!tableOps.has(endpointKey(endpoint.method, endpoint.path)))
      candidateFor(tableOperation(endpoint), endpoint);
  }

  const position = new Map(table.endpoints.map((e, i) => [endpointKey(e.method, e.path), i]));
  conservative.sort((a, b) => (position.get(a.endpoint) ?? 0) - (position.get(b.endpoint) ?? 0));

  // The table's word stands: a rules-mapped operation it would change is left out.
  const stated = new Map(tableCandidates.map((c) => [groupKey(c.op, c.converted), c]));
  const candidates = [...tableCandidates];
  for (const c of ruleCandidates) {
    const owner = stated.get(groupKey(c.op, c.converted));
    if (owner === undefined) candidates.push(c);
    else {
      unmapped.push({
        op: c.op,
        converted: c.converted,
        reason: `matches the same requests as ${owner.op.method} ${owner.op.path} (${opName(owner.op)}), which GitHub's table states`,
      });
    }
  }
  // Document order, then table endpoints the document lacks: the same inputs give the same file.
  const order = new Map((document?.operations ?? []).map((op, i) => [op, i]));
  const rank = (c: RouteCandidate): number => order.get(c.op) ?? order.size;
  candidates.sort((a, b) => rank(a) - rank(b));

  if (document !== undefined) {
    warnings.push(
      ...unusedRuleWarnings(rules, usage, new Set(document.operations.map((op) => op.operationId))),
    );
  }
  const implicit = [
    ...new Set([...(Object.hasOwn(table.titles, 'metadata') ? [GITHUB_IMPLICIT] : []), ...rules.implicit]),
  ];
  const result = assembleRoutes({ candidates, unmapped, rules, implicit, errors, warnings });
  if (!result.ok) return result;
  const { routes, features, unmapped: listed, conflicts, warnings: all, matcher } = result.assembled;

  const tableSummary = `GitHub's fine-grained PAT permissions table (${table.endpoints.length} endpoints, ${Object.keys(table.titles).length} permissions)`;
  const tableOnly = table.endpoints.length - tableOps.size;
  const featureTitles = Object.fromEntries(
    Object.keys(features).flatMap((f) =>
      Object.hasOwn(table.titles, f) ? [[f, table.titles[f] ?? '']] : [],
    ),
  );
  return {
    ok: true,
    imported: {
      title: document?.title ?? 'GitHub fine-grained PAT permissions',
      version: document?.version ?? '',
      openapi: document?.openapi ?? '',
      operationCount: (document?.operations.length ?? 0) + tableOnly,
      sourceSummary:
        document === undefined ? tableSummary : `${tableSummary} merged with ${document.summary}`,
      routes,
      features,
      featureTitles,
      implicit,
      unmapped: listed,
      conflicts,
      warnings: all,
      commentBlocks: conservative.length === 0 ? [] : [conservativeBlock(conservative)],
      table,
      conservative,
      agreement: measureAgreement(table, matcher),
    },
  };
}

/** An operation the table does not list: the rules map it, or it is left unmapped (denied). */
function mapByRules(
  op: OpenApiOperation,
  tails: readonly string[],
  rules: ImportRules,
  usage: RuleUsage,
  candidates: RouteCandidate[],
  unmapped: PendingUnmapped[],
  errors: string[],
): void {
  const conversion = convertPath(op.path, new Set([...rules.catch_all, ...tails]));
  const mapping = mapOperation(op, rules, usage);
  if (mapping.kind === 'error') {
    errors.push(mapping.error);
    return;
  }
  if (mapping.kind === 'unmapped') {
    const reason = mapping.reason.startsWith('no x-patgate-permission') ? NOT_IN_TABLE : mapping.reason;
    unmapped.push({ op, converted: conversion.ok ? conversion.converted : undefined, reason });
    return;
  }
  if (!conversion.ok) {
    errors.push(`${operationLabel(op)}: path ${conversion.error}`);
    return;
  }
  const converted = conversion.converted;
  const resource = resolveResource(op, converted, mapping.resource, rules, errors);
  const isPublic = mapping.requirement.kind === 'public';
  const checks = isPublic
    ? { names: [], note: undefined }
    : resolveUpstreamChecks(op, converted, rules, errors);
  if (resource === null || checks === null) return;
  candidates.push({
    op,
    converted,
    requirement: mapping.requirement,
    resource,
    upstreamChecks: checks.names,
    source: mapping.source,
    outsidePath: isPublic ? [] : resourcesOutsidePath(op),
    notes: [
      "not in GitHub's fine-grained permission table",
      ...(checks.note === undefined ? [] : [checks.note]),
    ],
  });
}

function conservativeBlock(conservative: readonly ConservativeEndpoint[]): CommentBlock {
  return {
    heading: [
      `Read conservatively (${conservative.length} endpoints): GitHub's table flags their permissions as`,
      '"additional-permissions" without saying whether they are alternatives or needed together, so',
      'each route requires all of them together (docs/github-map.md):',
    ],
    lines: conservative.map((c) => `${c.endpoint}: ${c.requires.join(' + ')}`),
  };
}
