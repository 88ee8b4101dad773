import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyOverrides, type EnvOverride, overridesFrom } from './config-overrides.js';

const LISTEN: EnvOverride = { variable: 'PATGATE_LISTEN', path: ['listen'], value: '0.0.0.0:8080' };
const UPSTREAM: EnvOverride = {
  variable: 'PATGATE_UPSTREAM_URL',
  path: ['upstream', 'url'],
  value: 'http://api:3000',
};

/** Every line of `before` is still at its number in `after`, except those `changed`. */
function expectLinesKept(before: string, after: string, changed: readonly number[] = []): void {
  const a = before.split('\n');
  const b = after.split('\n');
  a.forEach((line, i) => {
    if (!changed.includes(i + 1) && line !== '') expect(b[i], `line ${i + 1}`).toBe(line);
  });
}

describe('overridesFrom', () => {
  it('reads PATGATE_LISTEN and PATGATE_UPSTREAM_URL, ignoring empty values', () => {
    expect(overridesFrom({ PATGATE_LISTEN: '0.0.0.0:8080', PATGATE_UPSTREAM_URL: '' })).toEqual([LISTEN]);
    expect(overridesFrom({ PATGATE_UPSTREAM_URL: 'http://api:3000' })).toEqual([UPSTREAM]);
    expect(overridesFrom({})).toEqual([]);
  });
});

describe('applyOverrides', () => {
  it('replaces values where they are, keeping comments and every other line', () => {
    const text = [
      '# gateway',
      'listen: "127.0.0.1:8080"   # where clients connect',
      'upstream:',
      '  url: http://127.0.0.1:9000',
      '  timeout_ms: 5000',
      'routes: []',
      '',
    ].join('\n');
    const out = applyOverrides(text, [LISTEN, UPSTREAM]);
    expect(parse(out)).toMatchObject({
      listen: '0.0.0.0:8080',
      upstream: { url: 'http://api:3000', timeout_ms: 5000 },
    });
    expect(out.split('\n')[1]).toBe('listen: "0.0.0.0:8080"   # where clients connect');
    expectLinesKept(text, out, [2, 4]);
  });

  it('adds missing keys as a last line, so a map written by routes import serves as it is', () => {
    const text =
      'features:\n  issues: [read]\n\nroutes:\n  - route: "GET /x"  # op\n    permission: "issues:read"\n';
    const out = applyOverrides(text, [LISTEN, UPSTREAM]);
    expect(parse(out)).toMatchObject({ listen: '0.0.0.0:8080', upstream: { url: 'http://api:3000' } });
    expectLinesKept(text, out);
  });

  it('adds to a JSON file on the line of its brace, and it stays JSON', () => {
    const text = '{\n  "upstream": {"timeout_ms": 10},\n  "routes": []\n}\n';
    const out = applyOverrides(text, [LISTEN, UPSTREAM]);
    expect(JSON.parse(out)).toEqual({
      listen: '0.0.0.0:8080',
      upstream: { url: 'http://api:3000', timeout_ms: 10 },
      routes: [],
    });
    expect(out.split('\n').length).toBe(text.split('\n').length);
  });

  it('fills a key written without a value, and a map written without entries', () => {
    const out = applyOverrides('listen:\nupstream:\nroutes: []\n', [LISTEN, UPSTREAM]);
    expect(parse(out)).toMatchObject({ listen: '0.0.0.0:8080', upstream: { url: 'http://api:3000' } });
    expect(out.split('\n')[2]).toBe('routes: []');
  });

  it('adds a key to a nested block map at its indentation', () => {
    const text = 'upstream:\n    timeout_ms: 5 # slow\nroutes: []\n';
    const out = applyOverrides(text, [UPSTREAM]);
    expect(parse(out)).toEqual({ upstream: { timeout_ms: 5, url: 'http://api:3000' }, routes: [] });
  });

  it('leaves a file that does not parse, or is no map, for the loader to report', () => {
    expect(applyOverrides('listen: [unclosed\n', [LISTEN])).toBe('listen: [unclosed\n');
    expect(applyOverrides('- a\n- b\n', [LISTEN])).toBe('- a\n- b\n');
  });

  it('writes values as quoted strings, whatever they hold', () => {
    const tricky: EnvOverride = { ...UPSTREAM, value: 'http://api:3000/#x: "y"' };
    expect(parse(applyOverrides('upstream:\n  url: a\n', [tricky]))).toEqual({
      upstream: { url: 'http://api:3000/#x: "y"' },
    });
  });
});
