import type { RequestAccessUrl } from '../gateway/refusal.js';

/**
 * `request_access_url` on a gateway 403 for a missing permission: the console's new-token
 * form (`/console/tokens/new`, a GitHub-style template URL) filled in with the owner, the
 * repository and the first set of permissions that would satisfy the route. The gateway
 * calls it only when it refuses, so the allow path never builds a URL.
 */
export function requestAccessUrlFor(publicUrl: string): RequestAccessUrl {
  const form = new URL('/console/tokens/new', publicUrl).href;
  return (deny, resource) => {
    const wanted = deny.requiredPermissions?.[0] ?? [];
    const query = new URLSearchParams();
    if (resource.owner !== null) query.set('owner', resource.owner);
    if (resource.repo !== null) query.set('repositories', resource.repo);
    query.set('permissions', wanted.map((p) => `${p.feature}:${p.level}`).join(','));
    return `${form}?${query.toString()}`;
  };
}
