import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from './load.js';

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
  it('loads a minimal config and fills defaults', () => {
    const result = loadConfigText(base, 'cfg.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { config } = result.loaded;
    expect(config.cache).toEqual({ max_entries: 100_000, ttl_ms: 10_000, negative_ttl_ms: 1_000 });
    expect(config.store.key_prefix).toBe('patgate:');
    expect(config.store.redis_url).toBeUndefined();
    expect(config.unmatched).toBe('deny');
    expect(config.hide_forbidden).toBe(true);
    expect(config.admin.listen).toBe('127.0.0.1:8081');
    expect(result.loaded.matcher.match('GET', '/repos/a/b/issues')?.rule.pattern).toBe(
      'GET /repos/{owner}/{repo}/issues',
    );
  });

  it('loads JSON as well as YAML', () => {
    const json = JSON.stringify({
      upstream: { url: 'http://127.0.0.1:9000' },
      features: { issues: ['read'] },
      routes: [{ route: 'GET /x', permission: 'issues:read' }],
    });
    expect(loadConfigText(json, 'cfg.json').ok).toBe(true);
  });

  it('refuses unknown keys, naming the key and its line', () => {
    const errors = errorsOf(`${base}\ncache:\n  max_entires: 10\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cfg\.yaml:13: cache\.max_entires: unknown key "max_entires"$/);
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

  it('reports every error, not just the first', () => {
    const text = `${base}  - route: "GET /a"\n    permission: "nope:read"\n  - route: "GET /b"\n    permission: "issues:admin"\n`;
    expect(errorsOf(text).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a route with neither permission nor public, naming it', () => {
    const errors = errorsOf(`${base}  - route: "GET /c"\n`);
    expect(errors[0]).toMatch(/routes\[1\] \("GET \/c"\).*exactly one of/);
  });

  it('refuses conflicting routes', () => {
    const errors = errorsOf(`${base}  - route: "GET /repos/{a}/{b}/issues"\n    permission: "issues:read"\n`);
    expect(errors.join('\n')).toMatch(/conflict/);
  });

  it('refuses bad listen addresses and URLs with the path named', () => {
    const errors = errorsOf(
      base.replace('127.0.0.1:0', 'localhost').replace('http://127.0.0.1:9000', 'ftp://x'),
    );
    expect(errors.some((e) => e.includes('listen:'))).toBe(true);
    expect(errors.some((e) => e.includes('upstream.url:'))).toBe(true);
  });

  it('reports YAML syntax errors with a line', () => {
    expect(errorsOf('listen: [unclosed\n')[0]).toMatch(/^cfg\.yaml:\d+:\d+: /);
  });

  it('refuses duplicate keys', () => {
    expect(errorsOf(`${base}\nlisten: "127.0.0.1:1"\n`).length).toBe(1);
  });

  it('lets PATGATE_REDIS_URL override the store', () => {
    const result = loadConfigText(base, 'cfg.yaml', { redisUrl: 'redis://127.0.0.1:7777/2' });
    expect(result.ok && result.loaded.config.store.redis_url).toBe('redis://127.0.0.1:7777/2');
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
