import { describe, expect, it } from 'vitest';
import { type LoadedConfig, loadConfigText } from '../routes/load-config.js';
import { diffRoutes, restartOnlyChanges } from './reload-report.js';

const BASE = `listen: "127.0.0.1:0"
upstream:
  url: "http://127.0.0.1:9000"
features:
  issues: [read, write]
cache:
  ttl_ms: 60000
routes:
  - route: "GET /repos/{owner}/{repo}/issues"
    permission: "issues:read"
  - route: "POST /repos/{owner}/{repo}/issues"
    permission: "issues:write"
`;

function config(text: string): LoadedConfig['config'] {
  const result = loadConfigText(text, 'test.yaml');
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.loaded.config;
}

describe('diffRoutes', () => {
  it('names routes added, removed and changed by pattern', () => {
    const after = config(
      BASE.replace('permission: "issues:write"', 'permission: "issues:read"')
        .replace('  - route: "GET /repos/{owner}/{repo}/issues"\n    permission: "issues:read"\n', '')
        .concat('  - route: "GET /status"\n    public: true\n'),
    );
    expect(diffRoutes(config(BASE), after)).toEqual({
      added: ['GET /status'],
      removed: ['GET /repos/{owner}/{repo}/issues'],
      changed: ['POST /repos/{owner}/{repo}/issues'],
    });
  });

  it('the same map is no change', () => {
    expect(diffRoutes(config(BASE), config(BASE))).toEqual({ added: [], removed: [], changed: [] });
  });

  it('a new default body limit changes the routes that do not set their own', () => {
    const own = BASE.replace(
      'permission: "issues:write"',
      'permission: "issues:write"\n    max_body_bytes: 10',
    );
    const after = `${own}limits:\n  max_body_bytes: 1234\n`;
    expect(diffRoutes(config(own), config(after)).changed).toEqual(['GET /repos/{owner}/{repo}/issues']);
  });
});

describe('restartOnlyChanges', () => {
  it('names the startup-only keys that differ from what runs, not the reloadable ones', () => {
    const next = config(
      BASE.replace('ttl_ms: 60000', 'ttl_ms: 5000')
        .replace('listen: "127.0.0.1:0"', 'listen: "127.0.0.1:1"')
        .replace('issues: [read, write]', 'issues: [read, write, admin]')
        .concat('hide_forbidden: true\nlimits:\n  max_body_bytes: 1234\n'),
    );
    expect(restartOnlyChanges(config(BASE), next)).toEqual(['cache', 'listen']);
  });

  it('nothing when the file matches what runs', () => {
    expect(restartOnlyChanges(config(BASE), config(BASE))).toEqual([]);
  });
});
