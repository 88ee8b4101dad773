/** What a name suggests it identifies: an owner (user, organization, account) or a repository. */
export type ResourceNameKind = 'owner' | 'repository';

/** For messages: `{username} (an owner?)`. */
export const RESOURCE_KIND_LABEL: Readonly<Record<ResourceNameKind, string>> = {
  owner: 'an owner',
  repository: 'a repository',
};

const KINDS: ReadonlyMap<string, ResourceNameKind> = new Map([
  ...[
    'owner',
    'owners',
    'org',
    'orgs',
    'organization',
    'organizations',
    'organisation',
    'organisations',
    'user',
    'users',
    'username',
    'login',
    'account',
    'accounts',
    'enterprise',
    'enterprises',
  ].map((word) => [word, 'owner'] as const),
  ...['repo', 'repos', 'repository', 'repositories'].map((word) => [word, 'repository'] as const),
]);

// Trailing words that say how a name identifies something, not what: `repository_ids`,
// `organization_slugs`, `repository_ids_to_add`, `repository_query`.
const IDENTIFYING = new Set([
  'id',
  'ids',
  'name',
  'names',
  'slug',
  'slugs',
  'number',
  'numbers',
  'query',
  'to',
  'add',
  'remove',
]);

// Words of flags and settings about owners or repositories, which name none:
// `is_multi_repo`, `allows_public_repositories`, `members_can_create_repositories`,
// `dependabot_alerts_enabled_for_new_repositories`.
const FLAGS = new Set([
  'is',
  'has',
  'can',
  'allow',
  'allows',
  'require',
  'requires',
  'lock',
  'enable',
  'enabled',
  'exclude',
  'include',
  'default',
]);

/**
 * Whether a parameter or field name looks like it names an owner or a repository:
 * `username`, `new_owner`, `repositoryId`, `selected_repository_ids`, `head_repo`.
 * A heuristic for warnings, never for a decision. It reads the words of the name (split
 * at `_`, `-`, `.` and lower-to-upper case changes): the last word, past identifying
 * ones such as `id` or `names`, must be an owner or repository word, because the last
 * word of a compound is what it names (`repo_owner` is an owner, `owner_repo` a
 * repository, `owner_email_hash` neither); and a flag (`is_`, `_can_`, ...) names none.
 */
export function resourceKindOf(name: string): ResourceNameKind | null {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[\s_.-]+/)
    .filter((word) => word !== '');
  if (words.some((word) => FLAGS.has(word))) return null;
  let last = words.length - 1;
  while (last > 0 && IDENTIFYING.has(words[last] ?? '')) last--;
  return KINDS.get(words[last] ?? '') ?? null;
}

/** Plural names of collections whose members are owners or repositories (`/users/{id}`). */
const COLLECTIONS: ReadonlyMap<string, ResourceNameKind> = new Map([
  ...['users', 'orgs', 'organizations', 'organisations', 'owners', 'accounts', 'enterprises'].map(
    (word) => [word, 'owner'] as const,
  ),
  ...['repos', 'repositories'].map((word) => [word, 'repository'] as const),
]);

/**
 * The kind of the members of a collection named by a path segment: `users` holds owners,
 * `repositories` repositories. Singular segments name no collection: GitHub's `/user/...`
 * is the authenticated user's own, and what follows it is not another user.
 */
export function collectionKindOf(segment: string): ResourceNameKind | null {
  return COLLECTIONS.get(segment.toLowerCase()) ?? null;
}
