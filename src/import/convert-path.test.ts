import { describe, expect, it } from 'vitest';
import { convertPath, samplePath, shapeKey } from './convert-path.js';

describe('convertPath', () => {
  const cases: [string, string[], string, string[]][] = [
    ['/repos/{owner}/{repo}/issues/{issue_number}', [], '/repos/{owner}/{repo}/issues/{issue_number}', []],
    ['/', [], '/', []],
    ['/repos/{owner}/{repo}/contents/{path}', ['path'], '/repos/{owner}/{repo}/contents/{path+}', []],
    // Only the last segment can be a catch-all.
    ['/repos/{owner}/{repo}/commits/{ref}/status', ['ref'], '/repos/{owner}/{repo}/commits/{ref}/status', []],
    [
      '/enterprises/{enterprise}/teams/{enterprise-team}',
      [],
      '/enterprises/{enterprise}/teams/{enterprise_team}',
      ['{enterprise-team} is {enterprise_team}'],
    ],
    [
      '/repos/{owner}/{repo}/compare/{base}...{head}',
      [],
      '/repos/{owner}/{repo}/compare/{base_head}',
      ['segment "{base}...{head}" is matched as one parameter {base_head}'],
    ],
    ['/a/{1x}', [], '/a/{_1x}', ['{1x} is {_1x}']],
    // Sanitising must not create a duplicate name.
    ['/a/{b-c}/{b_c}', [], '/a/{b_c}/{b_c_2}', ['{b-c} is {b_c}', '{b_c} is {b_c_2}']],
  ];
  for (const [input, catchAll, path, notes] of cases) {
    it(`${input} -> ${path}`, () => {
      const result = convertPath(input, new Set(catchAll));
      if (!result.ok) throw new Error(result.error);
      expect(result.converted.path).toBe(path);
      expect(result.converted.notes).toEqual(notes);
    });
  }

  it('maps OpenAPI names to pattern names', () => {
    const result = convertPath('/x/{enterprise-team}/{base}.{head}', new Set());
    if (!result.ok) throw new Error(result.error);
    expect([...result.converted.params]).toEqual([
      ['enterprise-team', 'enterprise_team'],
      ['base', 'base_head'],
      ['head', 'base_head'],
    ]);
  });

  const refused: [string, string][] = [
    ['repos', 'does not start with "/"'],
    ['/a/', 'trailing "/"'],
    ['/a b', 'character 0x20'],
    ['/a%20b', 'percent-escape'],
  ];
  for (const [input, message] of refused) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      const result = convertPath(input, new Set());
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toContain(message);
    });
  }
});

describe('shapeKey and samplePath', () => {
  it('ignore parameter names', () => {
    const a = convertPath('/r/{owner}/{repo}/compare/{basehead}', new Set());
    const b = convertPath('/r/{owner}/{repo}/compare/{base}...{head}', new Set());
    if (!a.ok || !b.ok) throw new Error('expected ok');
    expect(shapeKey(a.converted.segments)).toBe(shapeKey(b.converted.segments));
    expect(samplePath(a.converted.segments, 'v')).toBe('/r/v/v/compare/v');
  });
});
