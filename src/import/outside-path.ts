import { RESOURCE_KIND_LABEL, resourceKindOf } from '../routes/resource-names.js';
import type { OpenApiOperation } from './openapi-operations.js';

/**
 * Where an operation takes an owner or repository other than in its path, e.g.
 * `query "q" (search qualifiers such as repo:)` or `body "organization" (an owner?)`.
 * The gateway authorizes the resource of the path only (docs/routes.md, "What the
 * upstream must check itself"), so each of these is the upstream's to check.
 */
export function resourcesOutsidePath(op: OpenApiOperation): string[] {
  const found: string[] = [];
  for (const name of op.queryParams) {
    // GitHub's search syntax (`repo:acme/api`, `org:`, `user:`) names owners and
    // repositories inside one free-text parameter; other APIs' `q` is as open.
    if (name === 'q') found.push('query "q" (a search query: qualifiers such as repo:, org:, user:)');
    else {
      const kind = resourceKindOf(name);
      if (kind !== null) found.push(`query "${name}" (${RESOURCE_KIND_LABEL[kind]}?)`);
    }
  }
  for (const name of op.bodyFields) {
    const kind = resourceKindOf(name);
    if (kind !== null) found.push(`body "${name}" (${RESOURCE_KIND_LABEL[kind]}?)`);
  }
  return found;
}
