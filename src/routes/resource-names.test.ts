import { describe, expect, it } from 'vitest';
import { collectionKindOf, type ResourceNameKind, resourceKindOf } from './resource-names.js';

describe('resourceKindOf', () => {
  const cases: [string, ResourceNameKind | null][] = [
    ['owner', 'owner'],
    ['org', 'owner'],
    ['organization', 'owner'],
    ['username', 'owner'],
    ['account_id', 'owner'],
    ['new_owner', 'owner'],
    ['template_owner', 'owner'],
    ['enterprise', 'owner'],
    ['users', 'owner'],
    ['repo', 'repository'],
    ['repository', 'repository'],
    ['repository_id', 'repository'],
    ['repositoryId', 'repository'],
    ['selected_repository_ids', 'repository'],
    ['template-repo', 'repository'],
    ['repos', 'repository'],
    // The last word that names a kind wins: it is what the compound names.
    ['repo_owner', 'owner'],
    ['owner_repo', 'repository'],
    ['OwnerName', 'owner'],
    ['repository_ids_to_add', 'repository'],
    ['organization_slugs', 'owner'],
    ['repository_query', 'repository'],
    // The last word says what the name is about: these are no owner or repository.
    ['owner_email_hash', null],
    ['has_organization_projects', null],
    ['require_code_owner_reviews', null],
    ['organization_selection_type', null],
    // Flags about repositories name none.
    ['is_multi_repo', null],
    ['allows_public_repositories', null],
    ['lock_repositories', null],
    ['members_can_create_repositories', null],
    ['dependabot_alerts_enabled_for_new_repositories', null],
    // Identifying words alone are not a kind.
    ['id', null],
    // Words that merely contain a kind's word are not it.
    ['reporter', null],
    ['orgasm', null],
    ['usernames_count', null],
    ['q', null],
    ['gist_id', null],
    ['task_id', null],
    ['name', null],
    ['', null],
  ];
  for (const [name, kind] of cases) {
    it(`${JSON.stringify(name)} -> ${kind}`, () => {
      expect(resourceKindOf(name)).toBe(kind);
    });
  }
});

describe('collectionKindOf', () => {
  const cases: [string, ResourceNameKind | null][] = [
    ['users', 'owner'],
    ['orgs', 'owner'],
    ['Organizations', 'owner'],
    ['enterprises', 'owner'],
    ['repos', 'repository'],
    ['repositories', 'repository'],
    // The authenticated user's own: what follows is not another user.
    ['user', null],
    ['repo', null],
    ['gists', null],
  ];
  for (const [segment, kind] of cases) {
    it(`${JSON.stringify(segment)} -> ${kind}`, () => {
      expect(collectionKindOf(segment)).toBe(kind);
    });
  }
});
