import {
  formatPermission,
  levelRank,
  type PermissionAlternatives,
  parsePermission,
} from '../config/permission.js';
import type { RouteMatcher } from '../routes/types.js';
import type { PermissionTable, TableEndpoint } from './permission-table.js';
import { isUnambiguous, permissionsOf, tableRequirement } from './table-requirement.js';

/** One endpoint whose route does not say what the table says. */
export interface AgreementFinding {
  /** `METHOD /path` as the table writes it. */
  readonly endpoint: string;
  /** What the table asks of the route: `issues:read`, `a:write + b:read`, `at least a:write + b:read`. */
  readonly expected: string;
  /** What the map requires there: alternatives joined by ` | `, `public`, or `no route`. */
  readonly actual: string;
  /** The pattern of the rule that matched, if any. */
  readonly route: string | undefined;
}

export interface AgreementCount {
  readonly total: number;
  readonly agree: number;
  /** A route matched, and requires something else. */
  readonly differ: readonly AgreementFinding[];
  /** No route matched, or a public one (which checks no token at all). */
  readonly missing: readonly AgreementFinding[];
}

/**
 * How a route map agrees with GitHub's table:
 * - `unambiguous`: endpoints without flagged rows; the route must require exactly the
 *   table's permission (or, were there several, exactly those alternatives);
 * - `flagged`: endpoints whose rows are flagged `additional-permissions`; every
 *   alternative of the route must hold at least every listed permission (at its level or
 *   higher), since the table does not say what else, or how, they combine.
 */
export interface AgreementReport {
  readonly unambiguous: AgreementCount;
  readonly flagged: AgreementCount;
}

/** A request path the table's template matches, with a value no literal is likely to equal. */
export function samplePathOf(template: string): string {
  return template.replace(
    /\{([^{}]+)\}/g,
    (_, name: string) => `sample-${name.replace(/[^A-Za-z0-9]/g, '')}`,
  );
}

const formatSet = (set: readonly string[]): string => set.join(' + ');
const formatAlternatives = (anyOf: readonly (readonly string[])[]): string =>
  anyOf.map(formatSet).join(' | ');

/** Canonical text of alternatives: order-free within and between sets. */
function canonical(anyOf: readonly (readonly string[])[]): string {
  return [...new Set(anyOf.map((set) => [...new Set(set)].sort().join('+')))].sort().join('|');
}

function holdsAtLeast(set: readonly string[], needed: readonly string[]): boolean {
  const held = set.flatMap((text) => {
    const p = parsePermission(text);
    return p.ok ? [p.permission] : [];
  });
  return needed.every((text) => {
    const p = parsePermission(text);
    return (
      p.ok &&
      held.some(
        (h) => h.feature === p.permission.feature && levelRank(h.level) >= levelRank(p.permission.level),
      )
    );
  });
}

function textsOf(alternatives: PermissionAlternatives): string[][] {
  return alternatives.map((set) => set.map(formatPermission));
}

/** Resolves every endpoint of the table through `matcher` and compares requirements. */
export function measureAgreement(table: PermissionTable, matcher: RouteMatcher): AgreementReport {
  const tally = () => ({
    total: 0,
    agree: 0,
    differ: [] as AgreementFinding[],
    missing: [] as AgreementFinding[],
  });
  const unambiguous = tally();
  const flagged = tally();
  for (const endpoint of table.endpoints) {
    const exact = isUnambiguous(endpoint);
    const count = exact ? unambiguous : flagged;
    count.total++;
    const finding = check(endpoint, exact, matcher);
    if (finding === null) count.agree++;
    else if (finding.route === undefined || finding.actual === 'public') count.missing.push(finding);
    else count.differ.push(finding);
  }
  return { unambiguous, flagged };
}

function check(endpoint: TableEndpoint, exact: boolean, matcher: RouteMatcher): AgreementFinding | null {
  const label = `${endpoint.method} ${endpoint.path}`;
  const wanted = exact ? tableRequirement(endpoint).anyOf : [permissionsOf(endpoint)];
  const expected = exact ? formatAlternatives(wanted) : `at least ${formatSet(wanted[0] ?? [])}`;
  const match = matcher.match(endpoint.method, samplePathOf(endpoint.path));
  if (match === null) return { endpoint: label, expected, actual: 'no route', route: undefined };
  const requirement = match.rule.requirement;
  if (requirement.kind === 'public')
    return { endpoint: label, expected, actual: 'public', route: match.rule.pattern };
  const actual = textsOf(requirement.alternatives);
  const agrees = exact
    ? canonical(actual) === canonical(wanted)
    : actual.every((set) => holdsAtLeast(set, wanted[0] ?? []));
  return agrees
    ? null
    : { endpoint: label, expected, actual: formatAlternatives(actual), route: match.rule.pattern };
}
