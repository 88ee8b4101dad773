import type { ResourceBinding } from '../routes/types.js';

/** The resource a request reaches; `owner` null means the route names none (`token_owner`). */
export interface RequestResource {
  readonly owner: string | null;
  readonly repo: string | null;
}

const TOKEN_OWNER: RequestResource = Object.freeze({ owner: null, repo: null });

/**
 * Reads the resource named by a matched route's parameters, lower-cased: owner
 * and repository names compare case-insensitively, as on GitHub.
 *
 * Values stay percent-encoded: an encoded name never equals a granted one, so
 * it is refused rather than decoded into something the route check did not see.
 *
 * A binding naming a parameter the match lacks is a compiler bug, and answering
 * `owner: null` would widen it to the token's own owner, so it throws instead.
 */
export function resolveResource(
  binding: ResourceBinding,
  params: Readonly<Record<string, string>>,
): RequestResource {
  switch (binding.kind) {
    case 'token_owner':
      return TOKEN_OWNER;
    case 'owner':
      return { owner: requireParam(params, binding.ownerParam), repo: null };
    case 'repository':
      return {
        owner: requireParam(params, binding.ownerParam),
        repo: requireParam(params, binding.repoParam),
      };
  }
}

function requireParam(params: Readonly<Record<string, string>>, name: string): string {
  const value = Object.hasOwn(params, name) ? params[name] : undefined;
  if (value === undefined || value === '') {
    throw new Error(`route binds resource parameter "${name}" but the match has no value for it`);
  }
  return value.toLowerCase();
}
