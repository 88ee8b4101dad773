import { describe, expect, it } from 'vitest';
import { parseConfigText } from './load.js';

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
  const result = parseConfigText(text, 'cfg.yaml');
  if (result.ok) throw new Error('expected the config to be refused');
  return result.errors;
}

describe('parseConfigText', () => {
  it('loads a minimal config, fills defaults and records where each route is', () => {
    const result = parseConfigText(base, 'cfg.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { config } = result.parsed;
    expect(config.cache).toEqual({ max_entries: 100_000, ttl_ms: 10_000, negative_ttl_ms: 1_000 });
    expect(config.store.key_prefix).toBe('patgate:');
    expect(config.store.redis_url).toBeUndefined();
    expect(config.unmatched).toBe('deny');
    expect(config.hide_forbidden).toBe(true);
    expect(config.admin.listen).toBe('127.0.0.1:8081');
    expect(config.limits.max_body_bytes).toBe(104_857_600);
    expect(result.parsed.routeLines).toEqual([9]);
  });

  it('loads JSON as well as YAML', () => {
    const json = JSON.stringify({
      upstream: { url: 'http://127.0.0.1:9000' },
      features: { issues: ['read'] },
      routes: [{ route: 'GET /x', permission: 'issues:read' }],
    });
    expect(parseConfigText(json, 'cfg.json').ok).toBe(true);
  });

  it('refuses unknown keys, naming the key and its line', () => {
    const errors = errorsOf(`${base}\ncache:\n  max_entires: 10\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cfg\.yaml:13: cache\.max_entires: unknown key "max_entires"$/);
  });

  it('refuses a route with neither permission nor public, naming it', () => {
    const errors = errorsOf(`${base}  - route: "GET /c"\n`);
    expect(errors[0]).toMatch(/routes\[1\] \("GET \/c"\).*exactly one of/);
  });

  it('refuses bad listen addresses and URLs with the path named', () => {
    const errors = errorsOf(
      base.replace('127.0.0.1:0', 'localhost').replace('http://127.0.0.1:9000', 'ftp://x'),
    );
    expect(errors.some((e) => e.includes('listen:'))).toBe(true);
    expect(errors.some((e) => e.includes('upstream.url:'))).toBe(true);
  });

  it('checks trusted_proxies with parseCidr, naming the entry at fault', () => {
    const errors = errorsOf(`${base}trusted_proxies: ["10.0.0.0/8", "::1", "10.0.0.0/33", "1.2.3.4/08"]\n`);
    expect(errors).toEqual([
      'cfg.yaml:11: trusted_proxies[2]: expected an IP address or CIDR block, e.g. "10.0.0.0/8"',
      'cfg.yaml:11: trusted_proxies[3]: expected an IP address or CIDR block, e.g. "10.0.0.0/8"',
    ]);
  });

  it('reports YAML syntax errors with a line', () => {
    expect(errorsOf('listen: [unclosed\n')[0]).toMatch(/^cfg\.yaml:\d+:\d+: /);
  });

  it('refuses duplicate keys', () => {
    expect(errorsOf(`${base}\nlisten: "127.0.0.1:1"\n`).length).toBe(1);
  });

  it('lets PATGATE_REDIS_URL override the store', () => {
    const result = parseConfigText(base, 'cfg.yaml', { redisUrl: 'redis://127.0.0.1:7777/2' });
    expect(result.ok && result.parsed.config.store.redis_url).toBe('redis://127.0.0.1:7777/2');
  });
});
