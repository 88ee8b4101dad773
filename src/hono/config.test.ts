import { describe, expect, it } from 'vitest';
import { compileConfig, PatgateConfigError } from './config.js';

const MAP = {
  features: { issues: ['read', 'write'] },
  routes: [{ route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:read' }],
};

function errorsOf(input: unknown): readonly string[] {
  try {
    compileConfig(input);
  } catch (error) {
    if (error instanceof PatgateConfigError) return error.errors;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('compileConfig', () => {
  it('compiles a route map with the gateway defaults', () => {
    const compiled = compileConfig(MAP);
    expect(compiled.table.hideForbidden).toBe(true);
    expect(compiled.dialect).toBe('patgate');
    expect(compiled.basePath).toBeNull();
    expect(compiled.cache).toEqual({ maxEntries: 100_000, ttlMs: 10_000, negativeTtlMs: 1_000 });
    expect(compiled.table.matcher.match('GET', '/repos/acme/api/issues')?.rule.pattern).toBe(
      'GET /repos/{owner}/{repo}/issues',
    );
    expect(compiled.table.matcher.match('POST', '/repos/acme/api/issues')).toBeNull();
  });

  it('takes a whole gateway config and ignores the keys that belong to the gateway process', () => {
    const compiled = compileConfig({
      ...MAP,
      listen: '127.0.0.1:8080',
      upstream: { url: 'http://127.0.0.1:9000' },
      compat: 'github',
      base_path: '/api/v3',
      cache: { ttl_ms: 500, negative_ttl_ms: 2_000 },
    });
    expect(compiled.dialect).toBe('github');
    expect(compiled.basePath).toBe('/api/v3');
    // A "no such token" is never remembered longer than a grant.
    expect(compiled.cache.negativeTtlMs).toBe(500);
  });

  it('refuses an unknown key, as the gateway refuses one in its file', () => {
    expect(errorsOf({ ...MAP, hide_forbiden: false })).toEqual([
      'hide_forbiden: unknown key "hide_forbiden"',
    ]);
  });

  it('names the route of a permission that is not in the catalogue', () => {
    const errors = errorsOf({
      ...MAP,
      routes: [{ route: 'GET /repos/{owner}/{repo}/pulls', permission: 'pulls:read' }],
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^routes\[0\] "GET \/repos\/\{owner\}\/\{repo\}\/pulls": .*pulls/);
  });

  it('names the key of a value the schema refuses', () => {
    expect(errorsOf({ ...MAP, routes: [{ route: 'GET /x' }] })[0]).toMatch(/^routes\[0\]: /);
    expect(errorsOf({ ...MAP, cache: { ttl_ms: 0 } })[0]).toMatch(/^cache\.ttl_ms: /);
    expect(errorsOf(null)).not.toHaveLength(0);
  });
});
