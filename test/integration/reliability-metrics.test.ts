import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/tokens/format.js';
import { admin, call, createToken, eventually, type Stack, startStack } from '../helpers/stack.js';

const CONTENTS = 'GET /repos/{owner}/{repo}/contents/{path+}';
const PATH = '/repos/acme/api/contents/readme.md';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ store: 'redis' });
});

afterAll(async () => {
  await stack?.close();
});

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${stack.gateway.adminUrl}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const samples: Sample[] = [];
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (k !== undefined && v !== undefined) labels[k] = v;
    }
    samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the series of `name` whose labels include `labels`; null when there is none. */
function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | null {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.length === 0 ? null : matching.reduce((sum, s) => sum + s.value, 0);
}

const EXPECTED: readonly [string, Record<string, string>][] = [
  ['patgate_requests_total', { route: CONTENTS, outcome: 'allowed' }],
  ['patgate_requests_total', { route: CONTENTS, outcome: 'denied' }],
  ['patgate_requests_total', { route: CONTENTS, outcome: 'unavailable' }],
  ['patgate_decisions_total', { result: 'allow', reason: 'granted' }],
  ['patgate_decisions_total', { result: 'deny', reason: 'token_unknown' }],
  ['patgate_decisions_total', { result: 'deny', reason: 'permission_missing' }],
  ['patgate_decision_duration_seconds_count', {}],
  ['patgate_upstream_duration_seconds_count', {}],
  ['patgate_cache_lookups_total', { result: 'hit' }],
  ['patgate_cache_lookups_total', { result: 'miss' }],
  ['patgate_cache_lookups_total', { result: 'negative_hit' }],
  ['patgate_cache_lookups_total', { result: 'coalesced' }],
  ['patgate_store_errors_total', {}],
  ['patgate_store_command_failures_total', { kind: 'timeout' }],
  ['patgate_invalidations_total', { kind: 'token' }],
  ['patgate_invalidation_lag_seconds_count', {}],
  ['patgate_route_reloads_total', { result: 'ok' }],
];

describe('GET /metrics', () => {
  it('exposes every patgate metric, and each one moves with the traffic that concerns it', async () => {
    const before = await scrape();
    for (const s of before) expect(s.name.startsWith('patgate_'), s.name).toBe(true);
    for (const name of [
      'patgate_requests_total',
      'patgate_decisions_total',
      'patgate_decision_duration_seconds_count',
      'patgate_upstream_duration_seconds_count',
      'patgate_cache_lookups_total',
      'patgate_cache_entries',
      'patgate_store_errors_total',
      'patgate_store_command_failures_total',
      'patgate_invalidations_total',
      'patgate_invalidation_lag_seconds_count',
      'patgate_route_reloads_total',
      'patgate_process_resident_memory_bytes',
    ]) {
      // Histograms and counters without events yet still show up (at 0), so that dashboards and rate() work from the start.
      if (['patgate_requests_total', 'patgate_decisions_total', 'patgate_invalidations_total'].includes(name))
        continue;
      expect(value(before, name), name).not.toBeNull();
    }

    const { adminUrl, url } = stack.gateway;
    const reader = await createToken(adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    const issuesOnly = await createToken(adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { issues: 'read' },
    });
    // miss, then hit
    expect((await call(url, 'GET', PATH, { token: reader.token })).status).toBe(200);
    expect((await call(url, 'GET', PATH, { token: reader.token })).status).toBe(200);
    // unknown: miss, then negative hit
    const unknown = generateToken('fine_grained');
    expect((await call(url, 'GET', PATH, { token: unknown })).status).toBe(401);
    expect((await call(url, 'GET', PATH, { token: unknown })).status).toBe(401);
    expect((await call(url, 'GET', PATH, { token: issuesOnly.token })).status).toBe(403);
    // an invalidation, received with its lag
    expect((await admin(adminUrl, 'DELETE', `/v1/tokens/${reader.id}`)).status).toBe(200);
    await eventually(
      async () => (await call(url, 'GET', PATH, { token: reader.token })).status === 401,
      2000,
      'the revocation',
    );
    // a hung store: timeout, store error, 503; the requests arriving while the first
    // lookup hangs join it (coalesced)
    const uncached = await createToken(adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { contents: 'read' },
    });
    stack.redis?.pause();
    try {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => call(url, 'GET', PATH, { token: uncached.token })),
      );
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 503));
    } finally {
      stack.redis?.resume();
    }
    // a route reload
    await writeFile(stack.gateway.configPath, stack.configText);
    stack.gateway.child.kill('SIGHUP');
    await stack.gateway.waitForLine((l) => l.includes('"route map reloaded"'));

    const after = await scrape();
    for (const [name, labels] of EXPECTED) {
      const was = value(before, name, labels) ?? 0;
      const now = value(after, name, labels);
      expect(now, `${name} ${JSON.stringify(labels)}`).not.toBeNull();
      expect(now ?? 0, `${name} ${JSON.stringify(labels)} did not move`).toBeGreaterThan(was);
    }
    expect(value(after, 'patgate_cache_entries')).toBeGreaterThan(0);
    const upstreamBuckets = after.filter((s) => s.name === 'patgate_upstream_duration_seconds_bucket');
    expect(upstreamBuckets.length).toBeGreaterThan(5);
  });
});
