import { describe, expect, it } from 'vitest';
import { draftFromTemplate, parsePermissionList, parseTokenForm } from './token-form.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

describe('draftFromTemplate', () => {
  it('pre-fills the form from a GitHub-style template URL', () => {
    const draft = draftFromTemplate(
      {
        name: 'ci',
        owner: 'Acme',
        repositories: 'api,acme/web',
        permissions: 'issues:read,contents:write',
        expires_in_days: '7',
        description: 'Deploys the API',
      },
      'bob',
      NOW,
    );
    expect(draft).toMatchObject({
      name: 'ci',
      description: 'Deploys the API',
      owner: 'acme',
      repositoryAccess: 'selected',
      repositories: ['api', 'web'],
      expiration: '7',
    });
    expect({ ...draft.permissions }).toEqual({ issues: 'read', contents: 'write' });
  });

  it('defaults to the person, all repositories and 30 days, and drops what it cannot read', () => {
    const draft = draftFromTemplate({ permissions: 'issues:own,Bad:read,x' }, 'bob', NOW);
    expect(draft).toMatchObject({ owner: 'bob', repositoryAccess: 'all', expiration: '30' });
    expect(Object.keys(draft.permissions)).toEqual([]);
  });

  it('turns a day count that is no preset into a custom date', () => {
    expect(draftFromTemplate({ expires_in_days: '10' }, 'bob', NOW)).toMatchObject({
      expiration: 'custom',
      expiresOn: '2026-06-11',
    });
  });

  it('keeps __proto__ as data, never as the prototype', () => {
    const map = parsePermissionList('__proto__:read');
    expect(Object.getPrototypeOf(map)).toBeNull();
  });
});

describe('parseTokenForm', () => {
  const base = {
    name: 'ci',
    owner: 'acme',
    expiration: '30',
    'perm.issues': 'read',
    'perm.contents': 'none',
  };

  it('builds the self-service API body', () => {
    const parsed = parseTokenForm({
      ...base,
      repository_access: 'selected',
      repositories: ['acme/api'],
      repositories_text: 'web, api',
    });
    expect(parsed.error).toBeNull();
    expect(parsed.input).toEqual({
      kind: 'fine_grained',
      name: 'ci',
      resource_owner: 'acme',
      repositories: ['api', 'web'],
      permissions: Object.assign(Object.create(null), { issues: 'read' }),
      expires_in_days: 30,
    });
  });

  it('passes a description on, and none when the field is empty', () => {
    const described = parseTokenForm({
      ...base,
      repository_access: 'all',
      description: '  Deploys\r\nthe API ',
    });
    expect(described.input).toMatchObject({ description: 'Deploys\r\nthe API' });
    expect(described.draft.description).toBe('Deploys\r\nthe API');
    const empty = parseTokenForm({ ...base, repository_access: 'all', description: '   ' });
    expect(empty.input).not.toHaveProperty('description');
  });

  it('turns a custom date into expires_at', () => {
    const parsed = parseTokenForm({
      ...base,
      repository_access: 'all',
      expiration: 'custom',
      expires_on: '2026-07-01',
    });
    expect(parsed.input).toMatchObject({ repositories: 'all', expires_at: '2026-07-01T00:00:00Z' });
  });

  it.each([
    [{ repository_access: 'selected' }, /name at least one repository/],
    [{ repository_access: 'selected', repositories: 'other/api' }, /does not belong to acme/],
    [{ repository_access: 'all', expiration: 'custom', expires_on: '' }, /pick a date/],
  ])('refuses %j with the form shown again', (fields, message) => {
    const parsed = parseTokenForm({ ...base, ...fields });
    expect(parsed.input).toBeNull();
    expect(parsed.error).toMatch(message);
    expect(parsed.draft.name).toBe('ci');
  });
});
