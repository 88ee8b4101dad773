import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttackStack, authLines, rawRequest, startAttackStack } from '../helpers/attack-stack.js';
import { sendRaw } from '../helpers/raw-socket.js';

/**
 * Property tests through the real gateway process, over generated request targets sent raw:
 * whenever the gateway lets a request through, the upstream receives byte for byte the target
 * that was sent, and the route and resource the gateway authorized are the ones a strict
 * RFC 3986 reading of that target gives. The token reaches `acme/api` only, so an allow for
 * any other repository under any spelling is a finding.
 */

/** What a strict reader makes of a target: its decoded segments, or why it has no single reading. */
type StrictReading = { ok: true; segments: string[] } | { ok: false; why: string };

const HEX = /^[0-9A-Fa-f]{2}$/;
// RFC 3986 §3.3 pchar, minus ";" (path parameters: read differently by servlet containers),
// plus the printable characters RFC 3986 leaves out but servers take as literal data
// (`"<>` and the like): they cannot move a segment boundary.
const PCHAR = /^[A-Za-z0-9\-._~!$&'()*+,=:@%"<>`{}^|[\]]$/;

/**
 * RFC 3986 read strictly: origin-form, no fragment, only pchar; every `%XX` valid and the
 * decoded bytes valid UTF-8 with no `/`, `\`, `%`, NUL or controls; no empty or dot segment,
 * before or after decoding. Written independently of `src/request/target.ts`.
 */
function strictReading(target: string): StrictReading {
  if (!target.startsWith('/')) return { ok: false, why: 'not origin-form' };
  if (target.includes('#')) return { ok: false, why: 'fragment' };
  const queryAt = target.indexOf('?');
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  const query = queryAt < 0 ? '' : target.slice(queryAt + 1);
  for (const c of query) {
    if (c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) >= 0x7f) return { ok: false, why: 'query byte' };
  }
  if (path === '/') return { ok: true, segments: [] };
  const segments: string[] = [];
  for (const raw of path.slice(1).split('/')) {
    if (raw === '' || raw === '.' || raw === '..') return { ok: false, why: 'empty or dot segment' };
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i] as string;
      if (!PCHAR.test(c)) return { ok: false, why: `byte ${JSON.stringify(c)}` };
      if (c === '%') {
        const hex = raw.slice(i + 1, i + 3);
        if (!HEX.test(hex)) return { ok: false, why: 'bad percent-encoding' };
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(c.charCodeAt(0));
      }
    }
    let decoded: string;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      return { ok: false, why: 'not UTF-8' };
    }
    // Inside the `{path+}` tail of `/repos/{owner}/{repo}/contents/...` an encoded "/" is a
    // separator of the file path, as GitHub's clients send it: every piece must be a real one.
    const inTail = segments.length >= 4 && segments[0] === 'repos' && segments[3] === 'contents';
    for (const c of decoded) {
      const code = c.charCodeAt(0);
      if ((c === '/' && !inTail) || c === '\\' || c === '%' || code < 0x20 || code === 0x7f) {
        return { ok: false, why: 'decodes to a separator or control' };
      }
    }
    if (inTail && decoded.split('/').some((piece) => piece === '' || piece === '.' || piece === '..')) {
      return { ok: false, why: 'a tail decoding to an empty or dot piece' };
    }
    if (decoded === '.' || decoded === '..') return { ok: false, why: 'decodes to a dot segment' };
    segments.push(decoded);
  }
  return { ok: true, segments };
}

/** The route and repository a strict reading of the path reaches, among the routes granted here. */
function strictlyAuthorized(segments: readonly string[]): string | null {
  const [repos, owner, repo, feature, ...rest] = segments;
  if (repos !== 'repos' || owner === undefined || repo === undefined) return null;
  const resource = `${owner.toLowerCase()}/${repo.toLowerCase()}`;
  if (feature === undefined) return `metadata ${resource}`;
  if (feature === 'contents' && rest.length > 0) return `contents ${resource}`;
  if (feature === 'issues' && rest.length === 0) return `issues ${resource}`;
  return null;
}

const SEGMENTS = [
  'acme',
  'ACME',
  'Acme',
  'api',
  'API',
  'web',
  'globex',
  'contents',
  'issues',
  'repos',
  'a',
  'b.md',
  '~x',
  '-',
  '_',
  "a'b",
  '(x)',
  '{x}',
  '<a>',
  '|',
  '*',
  ':',
  '@',
  '%41',
  '%61cme',
  'ac%6De',
  '%20',
  '%C3%A9',
  '.',
  '..',
  '',
  '%2e',
  '%2E%2e',
  '.%2e',
  '%2f',
  '%2F',
  'api%2F..%2Fweb',
  '%5c',
  '%00',
  '%252f',
  '%25',
  '%',
  '%zz',
  '%c0%af',
  '%C3',
  ';x=1',
  'api;x',
  '\\',
  '#f',
  '?',
  ' ',
  '\t',
  '\x80',
];

const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('acme', 'api', 'web', 'contents', 'issues', 'a', 'ACME', 'Api') },
  { weight: 2, arbitrary: fc.constantFrom(...SEGMENTS) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 2, maxLength: 3 }).map((p) => p.join('')),
  },
);

const QUERIES = [
  '',
  '?',
  '?ref=main',
  '?x=/../%2e%2e/',
  '?a=%2F&b=%zz',
  '?q=a;b=c',
  '?p=\\x',
  '?t=1&t=2',
  '?x=%00',
];

const owner = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('acme', 'ACME', 'Acme') },
  { weight: 1, arbitrary: segment },
);
const repo = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('api', 'API', 'Api') },
  { weight: 1, arbitrary: segment },
);
const goodSegment = fc.constantFrom('a', 'b.md', 'src', '%C3%A9t%C3%A9', '~x', "a'b", '%41', '.x', 'x..');
const rest = fc.array(fc.oneof({ weight: 5, arbitrary: goodSegment }, { weight: 1, arbitrary: segment }), {
  minLength: 1,
  maxLength: 3,
});
const tail = fc.oneof(
  { weight: 3, arbitrary: rest.map((r) => ['contents', ...r]) },
  { weight: 1, arbitrary: fc.constant(['issues']) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.array(segment, { maxLength: 3 }) },
);

const target = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(owner, repo, tail, fc.constantFrom(...QUERIES))
      .map(([o, r, t, query]) => `/${['repos', o, r, ...t].join('/')}${query}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom(...QUERIES))
      .map(([parts, query]) => `/${parts.join('/')}${query}`),
  },
);

describe('attack: properties of targets through the gateway', () => {
  let stack: AttackStack;
  const outcomes = new Map<number, number>();

  beforeAll(async () => {
    stack = await startAttackStack();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('an allowed target reaches the upstream byte for byte, for the resource a strict reading names', async () => {
    await fc.assert(
      fc.asyncProperty(target, async (sent) => {
        const before = stack.upstream.requests.length;
        const exchange = await sendRaw(stack.url, rawRequest('GET', sent, authLines(stack, stack.reader)), {
          timeoutMs: 5000,
        });
        const status = exchange.responses[0]?.status ?? 0;
        outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
        const forwarded = stack.upstream.requests.slice(before);
        const reading = strictReading(sent);
        if (status === 200) {
          expect(forwarded.map((r) => r.url)).toEqual([sent]);
          expect(reading, `a strict reader finds no single reading of ${JSON.stringify(sent)}`).toMatchObject(
            {
              ok: true,
            },
          );
          if (!reading.ok) return;
          const authorized = strictlyAuthorized(reading.segments);
          expect(authorized?.endsWith(' acme/api'), `${JSON.stringify(sent)} read as ${authorized}`).toBe(
            true,
          );
        } else {
          // Refusals happen before forwarding: nothing may have reached the upstream.
          expect(forwarded).toEqual([]);
          expect(status, JSON.stringify(sent)).not.toBe(0);
        }
      }),
      { numRuns: 400 },
    );
    // The generator must reach both sides of the line, or the property proves little.
    expect(outcomes.get(200) ?? 0).toBeGreaterThan(10);
    expect(outcomes.get(400) ?? 0).toBeGreaterThan(10);
    expect(outcomes.get(404) ?? 0).toBeGreaterThan(10);
  }, 120_000);

  it('any query is forwarded untouched when the path is allowed', async () => {
    const queryChar = fc.constantFrom(
      ...'abcXYZ019-._~!$&\'()*+,;=:@/?%[]{}|^`"<>\\'.split(''),
      '%2F',
      '%00',
      '%zz',
      '%2e%2e',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(queryChar, { maxLength: 30 }), async (chars) => {
        const sent = `/repos/acme/api/issues?${chars.join('')}`;
        const before = stack.upstream.requests.length;
        const exchange = await sendRaw(stack.url, rawRequest('GET', sent, authLines(stack, stack.reader)));
        const status = exchange.responses[0]?.status;
        const forwarded = stack.upstream.requests.slice(before).map((r) => r.url);
        if (status === 200) expect(forwarded).toEqual([sent]);
        else {
          // Only a fragment or a method-override/credential parameter may stop it.
          expect([400]).toContain(status);
          expect(forwarded).toEqual([]);
        }
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
