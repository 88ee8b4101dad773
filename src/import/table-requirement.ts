import { levelRank } from '../config/permission.js';
import type { TableEndpoint } from './permission-table.js';

/**
 * How an endpoint's rows were read:
 * - `alone`: one row, unflagged: that permission suffices, exactly what GitHub states;
 * - `alternatives`: several unflagged rows: each suffices alone (any_of). The docs generator
 *   cannot produce this (two permissions set the flag), but the reading is still exact;
 * - `together`: flagged rows: the table does not say whether they are alternatives or
 *   needed together, so all are required together (conservative: never less than GitHub);
 * - `mixed`: flagged and unflagged rows at once, which the generator cannot produce either
 *   (it flags every row of an endpoint or none): the table contradicts itself, so every
 *   listed permission is required together, as for `together`.
 */
export type TableReading = 'alone' | 'alternatives' | 'together' | 'mixed';

export interface TableRequirement {
  /** Any one set (OR), each needed together (AND), as `feature:level` texts. */
  readonly anyOf: readonly (readonly string[])[];
  readonly reading: TableReading;
}

/** Every permission of the rows, once per feature at the highest level listed, in table order. */
export function permissionsOf(endpoint: TableEndpoint): string[] {
  const levels = new Map<string, TableEndpoint['entries'][number]['level']>();
  for (const { feature, level } of endpoint.entries) {
    const held = levels.get(feature);
    if (held === undefined || levelRank(level) > levelRank(held)) levels.set(feature, level);
  }
  return [...levels].map(([feature, level]) => `${feature}:${level}`);
}

/** What the route for `endpoint` requires (see `TableReading`). */
export function tableRequirement(endpoint: TableEndpoint): TableRequirement {
  const all = permissionsOf(endpoint);
  const flagged = endpoint.entries.filter((e) => e.additional).length;
  if (flagged === 0) {
    return all.length === 1
      ? { anyOf: [all], reading: 'alone' }
      : { anyOf: all.map((p) => [p]), reading: 'alternatives' };
  }
  return { anyOf: [all], reading: flagged === endpoint.entries.length ? 'together' : 'mixed' };
}

/** Whether the table states the endpoint's requirement exactly (no flagged row). */
export function isUnambiguous(endpoint: TableEndpoint): boolean {
  return endpoint.entries.every((e) => !e.additional);
}
