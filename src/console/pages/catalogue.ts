import { ORGANIZATION_TOKENS_FEATURE } from '../../admin/org-reach.js';
import type { Level } from '../../config/permission.js';
import type { FeatureLevels } from '../../config/schema.js';
import type { RouteRule } from '../../routes/types.js';

/** Where a feature applies, as GitHub groups its token permissions. */
export type FeatureGroup = 'repository' | 'organization' | 'account';

export interface FeatureEntry {
  readonly name: string;
  readonly title: string;
  readonly description: string | null;
  readonly levels: readonly Level[];
  readonly group: FeatureGroup;
}

export const GROUP_TITLES: Readonly<Record<FeatureGroup, string>> = {
  repository: 'Repository permissions',
  organization: 'Organization permissions',
  account: 'Account permissions',
};

/** `pull_requests` → `Pull requests`, when the config gives no title. */
function titleOf(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The feature catalogue as the permission picker shows it. A feature's group is read off
 * the route map: one that guards a route on a repository is a repository permission, on
 * an owner (`{org}`) an organization permission, and otherwise (routes on the token's
 * own owner, or none) an account permission.
 */
export function featureEntries(
  catalogue: Readonly<Record<string, FeatureLevels>>,
  rules: readonly RouteRule[],
): FeatureEntry[] {
  const bindings = new Map<string, Set<string>>();
  for (const rule of rules) {
    if (rule.requirement.kind !== 'permissions') continue;
    for (const set of rule.requirement.alternatives) {
      for (const p of set) {
        let kinds = bindings.get(p.feature);
        if (kinds === undefined) {
          kinds = new Set();
          bindings.set(p.feature, kinds);
        }
        kinds.add(rule.requirement.resource.kind);
      }
    }
  }
  const entries: FeatureEntry[] = Object.entries(catalogue).map(([name, levels]) => {
    const kinds = bindings.get(name);
    const group: FeatureGroup = kinds?.has('repository')
      ? 'repository'
      : kinds?.has('owner')
        ? 'organization'
        : 'account';
    return {
      name,
      title: levels.title ?? titleOf(name),
      description: levels.description ?? null,
      levels,
      group,
    };
  });
  if (!Object.hasOwn(catalogue, ORGANIZATION_TOKENS_FEATURE)) {
    entries.push({
      name: ORGANIZATION_TOKENS_FEATURE,
      title: 'Organization tokens',
      description: "Review and approve the organization's tokens through the admin API (org admins only).",
      levels: ['read', 'write'],
      group: 'organization',
    });
  }
  return entries.sort((a, b) => a.title.localeCompare(b.title));
}
