import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from './load-config.js';

const base = `
listen: "127.0.0.1:0"
upstream:
  url: "http://127.0.0.1:9000"
features:
  metadata: [read]
  issues: [read, write]
routes:
  - route: "GET /repos/{owner}/{repo}/issues"
    permission: "issues:read"
`;

function errorsOf(text: string): readonly string[] {
  const result = loadConfigText(text, 'cfg.yaml');
  if (result.ok) throw new Error('expected the config to be refused');
  return result.errors;
}

describe('loadConfigText', () => {
  it('compiles the route map of a config that passes the schema', () => {
    const result = loadConfigText(base, 'cfg.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.loaded.source).toBe('cfg.yaml');
    expect(result.loaded.matcher.match('GET', '/repos/a/b/issues')?.rule.pattern).toBe(
      'GET /repos/{owner}/{repo}/issues',
    );
  });

  it('passes schema errors through unchanged', () => {
    expect(errorsOf(`${base}  - route: "GET /c"\n`)[0]).toMatch(/routes\[1\] \("GET \/c"\).*exactly one of/);
  });

  it('names the route at fault for an unknown feature', () => {
    const errors = errorsOf(
      `${base}  - route: "POST /repos/{owner}/{repo}/issues"\n    permission: "isues:write"\n`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('cfg.yaml:11:');
    expect(errors[0]).toContain('routes[1] "POST /repos/{owner}/{repo}/issues"');
    expect(errors[0]).toContain('unknown feature "isues"');
  });

  it('names implicit at fault without a route', () => {
    expect(errorsOf(`${base}implicit: ["nope:read"]\n`)).toEqual([
      'cfg.yaml: implicit[0]: unknown feature "nope"',
    ]);
  });

  it('reports every error, not just the first', () => {
    const text = `${base}  - route: "GET /a"\n    permission: "nope:read"\n  - route: "GET /b"\n    permission: "issues:admin"\n`;
    expect(errorsOf(text).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses conflicting routes', () => {
    const errors = errorsOf(`${base}  - route: "GET /repos/{a}/{b}/issues"\n    permission: "issues:read"\n`);
    expect(errors.join('\n')).toMatch(/conflict/);
  });

  it('gives each rule its body limit: its own max_body_bytes, else limits.max_body_bytes', () => {
    const text = `${base}    max_body_bytes: 0
  - route: "POST /repos/{owner}/{repo}/issues"
    permission: "issues:write"
  - route: "PUT /repos/{owner}/{repo}/issues"
    permission: "issues:write"
    max_body_bytes: 2048
limits:
  max_body_bytes: 4096
`;
    const result = loadConfigText(text, 'cfg.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.loaded.matcher.rules.map((r) => [r.pattern, r.maxBodyBytes])).toEqual([
      ['GET /repos/{owner}/{repo}/issues', 0],
      ['POST /repos/{owner}/{repo}/issues', 4096],
      ['PUT /repos/{owner}/{repo}/issues', 2048],
    ]);
  });

  it('ships an example config that loads and covers every top-level key', () => {
    const text = readFileSync(resolve(import.meta.dirname, '../../config/patgate.example.yaml'), 'utf8');
    const result = loadConfigText(text, 'patgate.example.yaml');
    expect(result.ok ? [] : result.errors).toEqual([]);
    for (const key of [
      'listen',
      'upstream',
      'store',
      'cache',
      'admin',
      'features',
      'routes',
      'implicit',
      'unmatched',
      'hide_forbidden',
      'shutdown_grace_ms',
    ]) {
      expect(text).toMatch(new RegExp(`^${key}:`, 'm'));
    }
    for (const key of [
      'timeout_ms',
      'connect_timeout_ms',
      'connections',
      'redis_url',
      'key_prefix',
      'command_timeout_ms',
      'max_entries',
      'ttl_ms',
      'negative_ttl_ms',
    ]) {
      expect(text).toMatch(new RegExp(`^  ${key}:`, 'm'));
    }
  });
});
