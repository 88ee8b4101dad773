import { describe, expect, it } from 'vitest';
import { readPermissionTable } from './permission-table.js';
import { isUnambiguous, tableRequirement } from './table-requirement.js';

const row = (verb: string, requestPath: string, access: string, additional = false, slug = 'x') => ({
  verb,
  requestPath,
  access,
  'additional-permissions': additional,
  slug,
});

function table(json: unknown) {
  const result = readPermissionTable(json);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.table;
}

describe('readPermissionTable', () => {
  it('gathers every row of an endpoint, in table order, with titles and counts', () => {
    const read = table({
      issues: {
        title: 'Issues',
        permissions: [
          row('get', '/repos/{owner}/{repo}/issues', 'read'),
          row('get', '/repos/{owner}/{repo}/labels', 'read', true, 'list-labels'),
        ],
      },
      pull_requests: {
        title: 'Pull requests',
        displayTitle: 'Repository permissions for "Pull requests"',
        permissions: [{ ...row('get', '/repos/{owner}/{repo}/labels', 'read', true), category: 'issues' }],
      },
    });
    expect(read.titles).toEqual({ issues: 'Issues', pull_requests: 'Pull requests' });
    expect(read.entryCount).toBe(3);
    expect(read.endpoints).toEqual([
      {
        method: 'GET',
        path: '/repos/{owner}/{repo}/issues',
        slug: 'x',
        entries: [{ feature: 'issues', level: 'read', additional: false }],
      },
      {
        method: 'GET',
        path: '/repos/{owner}/{repo}/labels',
        slug: 'list-labels',
        entries: [
          { feature: 'issues', level: 'read', additional: true },
          { feature: 'pull_requests', level: 'read', additional: true },
        ],
      },
    ]);
  });

  it('refuses what is not the docs-data shape, naming the key and index', () => {
    const result = readPermissionTable({
      Issues: { title: 'Issues', permissions: [] },
      contents: {
        title: 'Contents',
        permissions: [row('get', '/a', 'own'), { verb: 'GET', requestPath: 'a' }],
      },
    });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('permission keys are lowercase letters'),
        expect.stringMatching(/^contents\.permissions\[0\]\.access: /),
        expect.stringMatching(/^contents\.permissions\[1\]\.verb: expected a lower-case HTTP method/),
        expect.stringMatching(/^contents\.permissions\[1\]\.requestPath: expected a path/),
        expect.stringMatching(/^contents\.permissions\[1\]\.additional-permissions: /),
      ]),
    );
    expect(readPermissionTable([]).ok).toBe(false);
  });
});

describe('tableRequirement: how rows become a requirement', () => {
  const endpoint = (entries: [string, string, boolean][]) =>
    table({
      ...Object.fromEntries(
        entries.map(([feature, access, additional], i) => [
          feature,
          { title: feature, permissions: [row('get', '/e', access, additional, `e${i}`)] },
        ]),
      ),
    }).endpoints[0];

  it('one unflagged row: that permission alone, exactly', () => {
    const e = endpoint([['issues', 'read', false]]);
    if (e === undefined) throw new Error('no endpoint');
    expect(tableRequirement(e)).toEqual({ anyOf: [['issues:read']], reading: 'alone' });
    expect(isUnambiguous(e)).toBe(true);
  });

  it('several unflagged rows: each suffices alone', () => {
    const e = endpoint([
      ['issues', 'read', false],
      ['pull_requests', 'read', false],
    ]);
    if (e === undefined) throw new Error('no endpoint');
    expect(tableRequirement(e)).toEqual({
      anyOf: [['issues:read'], ['pull_requests:read']],
      reading: 'alternatives',
    });
  });

  it('flagged rows: all together (conservative), also when only one is listed', () => {
    const two = endpoint([
      ['issues', 'write', true],
      ['pull_requests', 'write', true],
    ]);
    const one = endpoint([['contents', 'write', true]]);
    if (two === undefined || one === undefined) throw new Error('no endpoint');
    expect(tableRequirement(two)).toEqual({
      anyOf: [['issues:write', 'pull_requests:write']],
      reading: 'together',
    });
    expect(tableRequirement(one)).toEqual({ anyOf: [['contents:write']], reading: 'together' });
    expect(isUnambiguous(two)).toBe(false);
  });

  it('flagged and unflagged rows at once (the generator never writes it): all together', () => {
    const e = endpoint([
      ['issues', 'read', false],
      ['pull_requests', 'read', true],
    ]);
    if (e === undefined) throw new Error('no endpoint');
    expect(tableRequirement(e)).toEqual({ anyOf: [['issues:read', 'pull_requests:read']], reading: 'mixed' });
  });

  it('a permission listed twice counts once, at the highest level', () => {
    const e = table({
      contents: {
        title: 'Contents',
        permissions: [
          row('put', '/f', 'read', true),
          row('put', '/f', 'write', true),
          row('put', '/f', 'write', true),
        ],
      },
      workflows: { title: 'Workflows', permissions: [row('put', '/f', 'write', true)] },
    }).endpoints[0];
    if (e === undefined) throw new Error('no endpoint');
    expect(tableRequirement(e).anyOf).toEqual([['contents:write', 'workflows:write']]);
  });
});
