import { describe, expect, it } from 'vitest';
import { resolveResource } from './resource.js';

describe('resolveResource', () => {
  it('reads a repository, lower-cased', () => {
    expect(
      resolveResource(
        { kind: 'repository', ownerParam: 'owner', repoParam: 'repo' },
        { owner: 'AcMe', repo: 'API' },
      ),
    ).toEqual({ owner: 'acme', repo: 'api' });
  });

  it('reads custom parameter names', () => {
    expect(
      resolveResource(
        { kind: 'repository', ownerParam: 'o', repoParam: 'r' },
        { o: 'acme', r: 'web', x: 'y' },
      ),
    ).toEqual({ owner: 'acme', repo: 'web' });
  });

  it('reads an owner alone', () => {
    expect(resolveResource({ kind: 'owner', ownerParam: 'org' }, { org: 'Acme' })).toEqual({
      owner: 'acme',
      repo: null,
    });
  });

  it('names no owner for token_owner routes', () => {
    expect(resolveResource({ kind: 'token_owner' }, { owner: 'acme' })).toEqual({ owner: null, repo: null });
  });

  it('keeps percent-encoding, so an encoded name never matches a granted one', () => {
    expect(resolveResource({ kind: 'owner', ownerParam: 'org' }, { org: '%61cme' })).toEqual({
      owner: '%61cme',
      repo: null,
    });
  });

  it.each([
    [{ kind: 'owner', ownerParam: 'org' } as const, {}],
    [{ kind: 'owner', ownerParam: 'org' } as const, { org: '' }],
    [{ kind: 'owner', ownerParam: 'toString' } as const, {}],
    [{ kind: 'repository', ownerParam: 'owner', repoParam: 'repo' } as const, { owner: 'acme' }],
  ])(
    'throws rather than widen to the token owner when a bound parameter is missing (%j, %j)',
    (binding, params) => {
      expect(() => resolveResource(binding, params)).toThrow(/resource parameter/);
    },
  );
});
