import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type GatewayProcess, startGateway } from '../helpers/gateway-process.js';
import { call, createToken } from '../helpers/stack.js';
import { startTestUpstream, type TestUpstream } from '../helpers/upstream.js';

/*
 * Done-when for the GitHub map: `patgate serve --config config/examples/github-api.yaml`
 * in front of a test upstream, and every operation of GitHub's OpenAPI document sent
 * through it as a concrete request. The expected answer is computed from the SOURCES
 * the map was imported from (GitHub's permission table, the document and
 * config/examples/github-table-rules.yaml), with a deliberately small reading of them
 * written here, never from the map: a table endpoint needs its one unflagged permission,
 * or every flagged one together (docs/github-map.md); anything else is the rules'.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = resolve(ROOT, 'config/examples/github-api.yaml');
const TABLE = resolve(ROOT, 'config/examples/github-fine-grained-pat-permissions.json');
const RULES = resolve(ROOT, 'config/examples/github-table-rules.yaml');
const OPENAPI = resolve(ROOT, 'node_modules/@octokit/openapi/generated/api.github.com.json');

// --- The sources ---------------------------------------------------------------------

interface SourceOperation {
  method: string;
  path: string;
  operationId: string;
  category: string | undefined;
  subcategory: string | undefined;
  tags: string[];
  /** Path parameters marked x-multi-segment. */
  multiSegment: string[];
}

interface Outcome {
  permission?: string | string[];
  any_of?: string[][];
  public?: true;
  skip?: string;
  level?: string;
}

interface Rules {
  resources: { path: string | string[]; owner: string; repo?: string }[];
  map: (Outcome & {
    category?: string | string[];
    subcategory?: string | string[];
    tag?: string | string[];
    path?: string | string[];
    methods?: string[];
  })[];
  operations: Record<string, Outcome>;
}

type Parameter = { $ref?: string; name?: string; in?: string; 'x-multi-segment'?: boolean };

function readOperations(): SourceOperation[] {
  const doc = JSON.parse(readFileSync(OPENAPI, 'utf8')) as {
    paths: Record<
      string,
      Record<
        string,
        {
          operationId: string;
          tags?: string[];
          'x-github'?: Record<string, string>;
          parameters?: Parameter[];
        }
      >
    >;
    components: { parameters: Record<string, Parameter> };
  };
  const deref = (p: Parameter): Parameter =>
    p.$ref === undefined ? p : (doc.components.parameters[p.$ref.split('/').at(-1) ?? ''] ?? {});
  const ops: SourceOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      const op = item[method];
      if (op === undefined) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        category: op['x-github']?.category,
        subcategory: op['x-github']?.subcategory,
        tags: op.tags ?? [],
        multiSegment: (op.parameters ?? [])
          .map(deref)
          .filter((p) => p.in === 'path' && p['x-multi-segment'] === true)
          .map((p) => p.name ?? ''),
      });
    }
  }
  return ops;
}

type TableRow = { verb: string; requestPath: string; access: string; 'additional-permissions': boolean };

/** The table's reading: one unflagged permission exactly; flagged ones all together. */
function readTable(): Map<string, string[][]> {
  const table = JSON.parse(readFileSync(TABLE, 'utf8')) as Record<string, { permissions: TableRow[] }>;
  const rows = new Map<string, { permission: string; flagged: boolean }[]>();
  for (const [feature, { permissions }] of Object.entries(table)) {
    for (const r of permissions) {
      const key = `${r.verb.toUpperCase()} ${r.requestPath}`;
      rows.set(key, [
        ...(rows.get(key) ?? []),
        { permission: `${feature}:${r.access}`, flagged: r['additional-permissions'] },
      ]);
    }
  }
  const rank: Record<string, number> = { read: 1, write: 2, admin: 3 };
  const needs = new Map<string, string[][]>();
  for (const [key, list] of rows) {
    const highest = new Map<string, string>();
    for (const { permission } of list) {
      const [f = '', l = ''] = permission.split(':');
      if ((rank[l] ?? 0) > (rank[highest.get(f) ?? ''] ?? 0)) highest.set(f, l);
    }
    const all = [...highest].map(([f, l]) => `${f}:${l}`);
    needs.set(key, list.some((r) => r.flagged) ? [all] : all.map((p) => [p]));
  }
  return needs;
}

const list = <T>(v: T | T[] | undefined): T[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

function glob(pattern: string, path: string): boolean {
  const g = pattern.split('/');
  const p = path.split('/');
  const at = (i: number, j: number): boolean => {
    if (i === g.length) return j === p.length;
    if (g[i] === '**')
      return Array.from({ length: p.length - j + 1 }, (_, k) => j + k).some((k) => at(i + 1, k));
    return j < p.length && (g[i] === '*' || g[i] === p[j]) && at(i + 1, j + 1);
  };
  return at(0, 0);
}

/** What an operation needs per the rules: alternatives of `feature:level`, public, or nothing (unmapped). */
type Expected = { kind: 'public' } | { kind: 'permissions'; anyOf: string[][] } | { kind: 'unmapped' };

function expectedFor(op: SourceOperation, rules: Rules, table: Map<string, string[][]>): Expected {
  const stated = table.get(`${op.method} ${op.path}`);
  if (stated !== undefined) return { kind: 'permissions', anyOf: stated };
  const override = rules.operations?.[op.operationId];
  const methodLevel = op.method === 'GET' ? 'read' : 'write';
  const fromOutcome = (o: Outcome, level: string): Expected | undefined => {
    const ref = (r: string) => (r.includes(':') ? r : `${r}:${level}`);
    if (o.skip !== undefined) return { kind: 'unmapped' };
    if (o.public === true) return { kind: 'public' };
    if (o.any_of !== undefined) return { kind: 'permissions', anyOf: o.any_of.map((s) => s.map(ref)) };
    const all = list(o.permission);
    return all === undefined ? undefined : { kind: 'permissions', anyOf: [all.map(ref)] };
  };
  if (override !== undefined) {
    const e = fromOutcome(override, override.level ?? methodLevel);
    if (e !== undefined) return e;
  }
  const entry = rules.map.find(
    (m) =>
      (list(m.category)?.includes(op.category ?? '') ?? true) &&
      (list(m.subcategory)?.includes(op.subcategory ?? '') ?? true) &&
      (list(m.tag)?.some((t) => op.tags.includes(t)) ?? true) &&
      (list(m.path)?.some((g) => glob(g, op.path)) ?? true) &&
      (m.methods?.includes(op.method) ?? true),
  );
  if (entry === undefined) return { kind: 'unmapped' };
  return fromOutcome(entry, override?.level ?? entry.level ?? methodLevel) ?? { kind: 'unmapped' };
}

// --- Concrete requests and which operation the API means by them --------------------

type Kind = 'literal' | 'param' | 'catch_all';
interface Segment {
  kind: Kind;
  text: string;
}

/**
 * A last parameter marked x-multi-segment is a tail, unless another operation of the same
 * method has a longer path that agrees with this one wherever both are literal.
 */
function segmentsOf(op: SourceOperation, all: readonly SourceOperation[]): Segment[] {
  const raw = op.path.split('/').slice(1);
  const continued = all.some((other) => {
    const theirs = other.path.split('/').slice(1);
    return (
      other.method === op.method &&
      theirs.length > raw.length &&
      raw.every((s, i) => s.includes('{') || (theirs[i] ?? '').includes('{') || s === theirs[i])
    );
  });
  return raw.map((text, i) => {
    if (!text.includes('{')) return { kind: 'literal', text };
    const whole = /^\{([^{}]+)\}$/.exec(text)?.[1];
    const last = i === raw.length - 1;
    const tail = whole !== undefined && last && !continued && op.multiSegment.includes(whole);
    return { kind: tail ? 'catch_all' : 'param', text };
  });
}

/** Plausible values; the owner is always the tokens' resource owner unless `owner` says otherwise. */
function valueFor(name: string, owner: string, multiSegment: boolean): string {
  if (['owner', 'org', 'username', 'enterprise', 'template_owner'].includes(name)) return owner;
  if (name === 'repo' || name === 'template_repo') return 'api';
  if (multiSegment) return name === 'ref' ? 'heads/feature/x' : 'docs/guide/intro.md';
  if (/(_id|_number|^id)$/.test(name)) return '42';
  if (name === 'basehead') return 'main...feature';
  if (name === 'base') return 'main';
  if (name === 'head') return 'feature';
  return `${name.replace(/[^a-z]/gi, '').slice(0, 6) || 'x'}1`;
}

function instantiate(segments: readonly Segment[], owner: string): string {
  return `/${segments
    .map((s) =>
      s.kind === 'literal'
        ? s.text
        : s.text.replace(/\{([^{}]+)\}/g, (_, name: string) => valueFor(name, owner, s.kind === 'catch_all')),
    )
    .join('/')}`;
}

const RANK: Record<Kind, number> = { literal: 0, param: 1, catch_all: 2 };

function matches(segments: readonly Segment[], path: string[]): boolean {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    const p = path[i];
    if (s === undefined || p === undefined) return false;
    if (s.kind === 'catch_all') return true;
    if (s.kind === 'literal' && s.text !== p) return false;
  }
  return segments.length === path.length;
}

/** The precedence rule as documented, by brute force: the first differing segment kind decides. */
function compareSpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = RANK[a[i]?.kind ?? 'literal'] - RANK[b[i]?.kind ?? 'literal'];
    if (d !== 0) return d;
  }
  return 0;
}

interface Mapped {
  op: SourceOperation;
  segments: Segment[];
  expected: Expected;
}

/** Every mapped operation the request could mean, best first (ties: same requests). */
function intended(mapped: readonly Mapped[], method: string, path: string): Mapped[] {
  const parts = path.split('/').slice(1);
  const candidates = mapped.filter((m) => m.op.method === method && matches(m.segments, parts));
  candidates.sort((a, b) => compareSpecificity(a.segments, b.segments));
  const best = candidates[0];
  return best === undefined
    ? []
    : candidates.filter((c) => compareSpecificity(c.segments, best.segments) === 0);
}

const accepted = (anyOf: string[][]): string =>
  anyOf.map((set) => set.map((p) => p.replace(':', '=')).join(',')).join('; ');

// --- The run ------------------------------------------------------------------------

describe('the GitHub map served by patgate, checked against its sources', () => {
  let upstream: TestUpstream;
  let gateway: GatewayProcess;
  const rules = parseYaml(readFileSync(RULES, 'utf8')) as Rules;
  const table = readTable();
  const implicit = ['metadata:read'];
  const operations = readOperations();
  const mapped: Mapped[] = [];
  const all: Mapped[] = [];
  for (const op of operations) {
    const m = { op, segments: segmentsOf(op, operations), expected: expectedFor(op, rules, table) };
    all.push(m);
    if (m.expected.kind !== 'unmapped') mapped.push(m);
  }

  beforeAll(async () => {
    upstream = await startTestUpstream();
    // The example as committed, with only its addresses replaced.
    const text = readFileSync(EXAMPLE, 'utf8')
      .replace('url: "https://api.github.com"', `url: "${upstream.url}"`)
      .replaceAll('listen: "127.0.0.1:8080"', 'listen: "127.0.0.1:0"')
      .replaceAll('listen: "127.0.0.1:8081"', 'listen: "127.0.0.1:0"');
    expect(text).toContain(upstream.url);
    gateway = await startGateway(text, { env: { PATGATE_LOG_LEVEL: 'info' } });
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const tokens = new Map<string, Promise<string>>();
  /** `METHOD path` of every request the sources say reaches the upstream. */
  const expectedUpstream: string[] = [];
  /** A fine-grained token of acme over all its repositories holding exactly `grants`. */
  function tokenFor(grants: readonly string[]): Promise<string> {
    const permissions: Record<string, string> = {};
    for (const p of grants) {
      const [feature = '', level = ''] = p.split(':');
      permissions[feature] = level;
    }
    const key = JSON.stringify(Object.entries(permissions).sort());
    let token = tokens.get(key);
    if (token === undefined) {
      token = createToken(gateway.adminUrl, {
        user: 'alice',
        resource_owner: 'acme',
        repositories: 'all',
        permissions,
      }).then((t) => t.token);
      tokens.set(key, token);
    }
    return token;
  }

  const implicitHeld = (set: readonly string[]): boolean => set.every((p) => implicit.includes(p));

  it('answers at least 200 real endpoint shapes as the sources say', { timeout: 240_000 }, async () => {
    const failures: string[] = [];
    const checks = { allowed: 0, denied: 0, hidden: 0, noRoute: 0, public: 0 };
    const shapes = new Set<string>();

    const one = async (m: Mapped): Promise<void> => {
      const { op } = m;
      const path = instantiate(m.segments, 'acme');
      const targets = intended(mapped, op.method, path);
      const label = `${op.method} ${path} (${op.operationId})`;
      const fail = (what: string) => failures.push(`${label}: ${what}`);
      shapes.add(`${op.method} ${op.path}`);

      const target = targets[0];
      if (target === undefined) {
        const answer = await call(gateway.url, op.method, path, { token: await tokenFor([]) });
        if (answer.status !== 404) fail(`expected 404 (no route), got ${answer.status}`);
        checks.noRoute++;
        return;
      }
      // Operations the API cannot tell apart must need the same, or the map combines them.
      for (const other of targets.slice(1)) {
        if (JSON.stringify(other.expected) !== JSON.stringify(target.expected)) {
          fail(`ambiguous with ${other.op.operationId} and the sources disagree`);
          return;
        }
      }
      const expected = target.expected;
      if (expected.kind === 'unmapped') return;
      if (expected.kind === 'public') {
        const answer = await call(gateway.url, op.method, path);
        expectedUpstream.push(`${op.method} ${path}`);
        if (answer.status !== 200) fail(`public: expected 200 without a token, got ${answer.status}`);
        checks.public++;
        return;
      }

      // Allowed with exactly the first alternative, and forwarded byte for byte.
      const first = expected.anyOf[0] ?? [];
      const allowed = await call(gateway.url, op.method, path, { token: await tokenFor(first) });
      expectedUpstream.push(`${op.method} ${path}`);
      if (allowed.status !== 200)
        fail(`with ${first.join('+')}: expected 200, got ${allowed.status} ${allowed.text}`);
      else if (allowed.json().url !== path) fail(`forwarded ${String(allowed.json().url)}`);
      else checks.allowed++;

      // Denied without the permissions, naming them in X-Accepted-Permissions.
      const denied = await call(gateway.url, op.method, path, { token: await tokenFor([]) });
      if (expected.anyOf.some(implicitHeld)) {
        expectedUpstream.push(`${op.method} ${path}`);
        if (denied.status !== 200) fail(`implicit ${implicit.join(',')} should do, got ${denied.status}`);
      } else if (denied.status !== 403) fail(`with no permission: expected 403, got ${denied.status}`);
      else if (denied.headers['x-accepted-permissions'] !== accepted(expected.anyOf)) {
        fail(
          `X-Accepted-Permissions "${String(denied.headers['x-accepted-permissions'])}" != "${accepted(expected.anyOf)}"`,
        );
      } else checks.denied++;

      // A write needs write: the same features at read are refused.
      const lowered = first.map((p) => p.replace(/:(write|admin)$/, ':read'));
      if (
        lowered.join() !== first.join() &&
        !expected.anyOf.some((set) => set.every((p) => lowered.includes(p) || implicit.includes(p)))
      ) {
        const answer = await call(gateway.url, op.method, path, { token: await tokenFor(lowered) });
        if (answer.status !== 403) fail(`with ${lowered.join('+')}: expected 403, got ${answer.status}`);
      }

      // Another owner is out of the token's reach: hidden as 404 when the route names one.
      const names = op.path.match(/\{([^{}]+)\}/g)?.map((n) => n.slice(1, -1)) ?? [];
      const resourceRule = rules.resources.find((r) => list(r.path)?.some((g) => glob(g, op.path)));
      const namesOwner =
        (names.includes('owner') && names.includes('repo')) ||
        names.includes('org') ||
        names.includes('owner') ||
        resourceRule !== undefined;
      if (namesOwner) {
        const elsewhere = instantiate(m.segments, 'globex');
        if (intended(mapped, op.method, elsewhere)[0] === target) {
          const answer = await call(gateway.url, op.method, elsewhere, { token: await tokenFor(first) });
          if (answer.status !== 404) fail(`owner globex: expected 404 (hidden), got ${answer.status}`);
          else checks.hidden++;
        }
      }
    };

    // A few at a time: enough to be quick, few enough for two shared cores.
    const queue = [...all];
    const workers = Array.from({ length: 6 }, async () => {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) await one(m);
    });
    await Promise.all(workers);

    expect(failures.slice(0, 25)).toEqual([]);
    expect(shapes.size).toBeGreaterThanOrEqual(200);
    expect(checks.allowed).toBeGreaterThanOrEqual(200);
    expect(checks.denied).toBeGreaterThanOrEqual(200);
    expect(checks.noRoute).toBeGreaterThan(0);
    expect(checks.public).toBeGreaterThan(0);
    expect(checks.hidden).toBeGreaterThan(0);
    console.info(`github map: ${shapes.size} endpoint shapes, ${JSON.stringify(checks)}`);
  });

  it('called the upstream for exactly the requests the sources allow, never with the token', () => {
    const received = upstream.requests.map((r) => `${r.method} ${r.url}`).sort();
    expect(received).toEqual([...expectedUpstream].sort());
    for (const r of upstream.requests) {
      expect(r.rawHeaders.some((h) => h.toLowerCase() === 'authorization')).toBe(false);
    }
  });
});
