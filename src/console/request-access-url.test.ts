import { describe, expect, it } from 'vitest';
import { draftFromTemplate } from './pages/token-form.js';
import { requestAccessUrlFor } from './request-access-url.js';

describe('requestAccessUrlFor', () => {
  const link = requestAccessUrlFor('https://tokens.example.com');
  const deny = {
    kind: 'deny' as const,
    reason: 'permission_missing' as const,
    detail: 'needs issues:write',
    requiredPermissions: [
      [
        { feature: 'issues', level: 'write' as const },
        { feature: 'contents', level: 'read' as const },
      ],
      [{ feature: 'pull_requests', level: 'write' as const }],
    ],
  };

  it('links the new-token form, which reads back the owner, repository and first alternative', () => {
    const url = new URL(link(deny, { owner: 'acme', repo: 'api' }));
    expect(url.origin + url.pathname).toBe('https://tokens.example.com/console/tokens/new');
    const draft = draftFromTemplate(Object.fromEntries(url.searchParams), 'bob', Date.now());
    expect(draft).toMatchObject({ owner: 'acme', repositories: ['api'], repositoryAccess: 'selected' });
    expect({ ...draft.permissions }).toEqual({ issues: 'write', contents: 'read' });
  });

  it('leaves the owner to the person when the route names none', () => {
    const url = new URL(link(deny, { owner: null, repo: null }));
    expect(url.searchParams.has('owner')).toBe(false);
    expect(url.searchParams.has('repositories')).toBe(false);
  });
});
