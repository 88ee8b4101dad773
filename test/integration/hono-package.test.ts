import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
// Resolved through package.json `exports` (its `types` condition): what a TypeScript app sees.
import type { PatgateEnv, PatgateIdentity } from 'patgate/hono';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

// What an app does with the built package: `import { patgate } from 'patgate/hono'`, resolved by
// Node itself (the package's self-reference through `exports`), not by the test runner.
const APP = `
import { Hono } from 'hono';
import { MemoryGrantStore, patgate } from 'patgate/hono';
const store = new MemoryGrantStore();
const guard = patgate({
  config: {
    features: { issues: ['read'] },
    routes: [{ route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:read' }],
  },
  store,
});
const app = new Hono().use(guard).get('/repos/:owner/:repo/issues', (c) => c.json(c.get('patgate')));
const res = await app.request('/repos/acme/api/issues');
console.log(JSON.stringify({ status: res.status, type: (await res.json()).type }));
await guard.close();
`;

describe('the patgate/hono package entry', () => {
  it('imports from the built package by its name and answers as the gateway does', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', APP], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({
      status: 401,
      type: 'https://patgate.dev/problems/token_missing',
    });
  });

  it('keeps the patgate command working beside it', async () => {
    const { stdout } = await run(process.execPath, [resolve(ROOT, 'dist/src/main.js'), '--help'], {
      cwd: ROOT,
    });
    expect(stdout).toMatch(/serve/);
  });

  it('types the context variable for TypeScript apps', () => {
    const identity: PatgateEnv['Variables']['patgate'] = null;
    const user = (who: PatgateIdentity): string => who.user;
    expect(identity).toBeNull();
    expect(typeof user).toBe('function');
  });
});
