#!/usr/bin/env node
// Time-budgeted fuzz of the parsers that stand between a client and the upstream, run on the
// compiled code in dist/ (`npm run fuzz` builds first). Not part of `npm test`.
//
//   node scripts/fuzz.mjs [--seconds 60] [--seed N]
//
// Targets: checkTarget + the route matcher + resolveResource (the gateway's reading of a
// request), checkQuery, parseToken, extractCredential. Findings:
// - any exception;
// - an accepted target whose forwarded bytes (path + query) differ from the input, or whose
//   authorized path is not the forwarded path;
// - an accepted target that an independent strict RFC 3986 reader finds ambiguous, or reads as
//   other segments than the ones the matcher bound to the route's parameters and resource;
// - parseToken disagreeing with an independent check of prefix, length, alphabet and CRC-32;
// - extractCredential returning a credential that is not a clean token68 substring of the header,
//   or repeating the header in an error detail;
// - checkQuery letting through a query that carries a valid token;
// - readRequest (one pass over the headers) letting through a token outside Authorization, two
//   Authorization fields as a credential, or forwarding a credential, a gateway-owned header in
//   any spelling, or (by default) any name with `_`.
// Prints counts (cases, accepted, refused by reason) and exits 1 on the first findings.

import { performance } from 'node:perf_hooks';
import { resolveResource } from '../dist/src/grants/resource.js';
import { readRequest } from '../dist/src/request/facts.js';
import { checkQuery } from '../dist/src/request/query.js';
import { checkTarget } from '../dist/src/request/target.js';
import { TrustedProxies } from '../dist/src/request/trusted-proxies.js';
import { compileRoutes } from '../dist/src/routes/compile.js';
import { extractCredential } from '../dist/src/tokens/extract.js';
import { generateToken, parseToken, TOKEN_LENGTH } from '../dist/src/tokens/format.js';

// --- arguments --------------------------------------------------------------------------------

function argument(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} needs a non-negative number`);
    process.exit(2);
  }
  return value;
}

const seconds = argument('seconds', 60);
const seed = argument('seed', Math.floor(Math.random() * 2 ** 31)) >>> 0;

// --- deterministic randomness (mulberry32), so a finding is reproducible with --seed ----------

let state = seed || 1;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(random() * n);
const pick = (list) => list[int(list.length)];
const chance = (p) => random() < p;

// --- generators -------------------------------------------------------------------------------

const SEGMENT_PIECES = [
  'repos',
  'acme',
  'ACME',
  'api',
  'web',
  'contents',
  'issues',
  'orgs',
  'members',
  'a',
  'B',
  '0',
  '.',
  '..',
  '...',
  '-',
  '_',
  '~',
  ':',
  '@',
  '!',
  '$',
  '&',
  "'",
  '(',
  ')',
  '*',
  '+',
  ',',
  '=',
  '%',
  '%2',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '%25',
  '%252f',
  '%252e',
  '%00',
  '%0a',
  '%0D',
  '%7f',
  '%41',
  '%61',
  '%7e',
  '%20',
  '%c0%af',
  '%C0%AE',
  '%e0%80%af',
  '%C3%A9',
  '%C3',
  '%ed%a0%80',
  '%f0%9f%98%80',
  '%F4%90%80%80',
  '%ff',
  '%zz',
  '%g0',
  ';',
  ';x=1',
  '\\',
  '#',
  '?',
  '/',
  ' ',
  '\t',
  '\0',
  '\r',
  '\n',
  '\x7f',
  '\x80',
  '\xe9',
  '"',
  '<',
  '>',
  '{',
  '|',
  '^',
  '`',
];
const QUERY_PIECES = [
  'a',
  '=',
  '&',
  ';',
  '%',
  '%2F',
  '%zz',
  '+',
  '_method',
  'access_token',
  '/',
  '..',
  '#',
  ' ',
];

function segment() {
  const n = int(4);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(SEGMENT_PIECES);
  return s;
}

function structuredTarget() {
  const parts = [];
  if (chance(0.7))
    parts.push(
      'repos',
      chance(0.8) ? pick(['acme', 'ACME', 'Acme']) : segment(),
      chance(0.8) ? 'api' : segment(),
    );
  const n = int(5);
  for (let i = 0; i < n; i++)
    parts.push(chance(0.6) ? pick(['contents', 'issues', 'a', 'src', 'b.md']) : segment());
  let target = `/${parts.join('/')}`;
  if (chance(0.1)) target += '/';
  if (chance(0.3)) {
    let q = '?';
    const k = int(6);
    for (let i = 0; i < k; i++) q += pick(QUERY_PIECES);
    target += q;
  }
  if (chance(0.05)) target = pick(['http://x', 'HTTP://x', '//x', '*', 'x.example:443', '']) + target;
  return target;
}

function randomBytesTarget() {
  const n = int(40);
  let s = chance(0.8) ? '/' : '';
  for (let i = 0; i < n; i++) {
    s += chance(0.5)
      ? pick(['/', '.', '%', '2', 'e', 'f', 'E', 'F', '5', 'c', '?', 'a', ';', '\\'])
      : String.fromCharCode(int(256));
  }
  return s;
}

function mutate(text) {
  const chars = [...text];
  const edits = 1 + int(3);
  for (let e = 0; e < edits; e++) {
    const at = int(chars.length + 1);
    const op = int(3);
    if (op === 0) chars.splice(at, 0, pick(SEGMENT_PIECES));
    else if (op === 1 && chars.length > 0) chars.splice(at, 1);
    else if (chars.length > 0) chars[Math.min(at, chars.length - 1)] = String.fromCharCode(int(128));
  }
  return chars.join('');
}

// --- an independent strict RFC 3986 reader ------------------------------------------------------

// RFC 3986 §3.3 pchar without ";" (a path parameter to servlet containers), plus the printable
// characters RFC 3986 leaves out but every server takes as literal data (WHATWG URL keeps or
// percent-encodes them, never turns them into a separator): they cannot change the segments.
const PCHAR = new Set(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&\'()*+,=:@%"<>`{}^|[]',
);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decoded segments of the path, or null when two servers could read it differently. */
function strictSegments(path) {
  if (!path.startsWith('/')) return null;
  if (path === '/') return [];
  const out = [];
  for (const raw of path.slice(1).split('/')) {
    if (raw === '' || raw === '.' || raw === '..') return null;
    const bytes = [];
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (!PCHAR.has(c)) return null;
      if (c === '%') {
        const hex = raw.slice(i + 1, i + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else bytes.push(c.charCodeAt(0));
    }
    let decoded;
    try {
      decoded = utf8.decode(Uint8Array.from(bytes));
    } catch {
      return null;
    }
    for (const ch of decoded) {
      const code = ch.charCodeAt(0);
      if (ch === '/' || ch === '\\' || ch === '%' || code < 0x20 || code === 0x7f) return null;
    }
    if (decoded === '.' || decoded === '..') return null;
    out.push({ raw, decoded });
  }
  return out;
}

function strictQueryOk(query) {
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return false;
  }
  return true;
}

// --- the gateway's route map ------------------------------------------------------------------

const FEATURES = {
  metadata: ['read'],
  contents: ['read', 'write'],
  issues: ['read', 'write'],
  members: ['read'],
};
const ROUTES = [
  { route: 'GET /repos/{owner}/{repo}', permission: 'metadata:read' },
  { route: 'GET /repos/{owner}/{repo}/contents/{path+}', permission: 'contents:read' },
  { route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:read' },
  { route: 'GET /repos/{owner}/{repo}/issues/{number}', permission: 'issues:read' },
  { route: 'GET /orgs/{org}/members', permission: 'members:read' },
  {
    route: 'GET /projects/{account}/{project}',
    permission: 'metadata:read',
    resource: { owner: 'account', repo: 'project' },
  },
  { route: 'GET /status', public: true },
  { route: '* /any/{rest+}', permission: 'metadata:read' },
];
const compiled = compileRoutes({
  routes: ROUTES,
  features: FEATURES,
  implicit: [],
  // Body limits are not fuzzed here; compileRoutes requires one.
  defaultMaxBodyBytes: 1_048_576,
});
if (!compiled.ok) {
  console.error('fuzz: the route map does not compile', compiled.errors);
  process.exit(2);
}
const matcher = compiled.matcher;

/** Pattern segments of each rule, to re-derive what each parameter must have bound. */
const PATTERNS = ROUTES.map((r) =>
  r.route
    .slice(r.route.indexOf(' ') + 1)
    .slice(1)
    .split('/'),
);

// --- reference token check ----------------------------------------------------------------------

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(text) {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function referenceToken(text) {
  if (text.length !== 40 || !(text.startsWith('pgt_') || text.startsWith('pgc_'))) return false;
  for (let i = 4; i < 40; i++) if (!BASE62.includes(text[i])) return false;
  let value = 0;
  for (let i = 34; i < 40; i++) value = value * 62 + BASE62.indexOf(text[i]);
  return value === crc32(text.slice(0, 34));
}

// --- the run ----------------------------------------------------------------------------------

const counts = {
  cases: 0,
  targets: 0,
  accepted: 0,
  matched: 0,
  refusedByReason: {},
  queries: 0,
  queriesRefused: {},
  tokens: 0,
  tokensValid: 0,
  bearers: 0,
  bearersAccepted: 0,
  headerSets: 0,
  headersRefused: {},
};
const findings = [];

function finding(kind, input, detail) {
  findings.push({ kind, input: JSON.stringify(input), detail });
}

function fuzzTarget(input) {
  counts.targets++;
  let result;
  try {
    result = checkTarget(input);
  } catch (error) {
    finding('checkTarget threw', input, String(error));
    return;
  }
  if (!result.ok) {
    counts.refusedByReason[result.reason] = (counts.refusedByReason[result.reason] ?? 0) + 1;
    return;
  }
  counts.accepted++;
  // What the gateway forwards is `path + query`; what it authorizes is `path`.
  const forwarded = result.path + result.query;
  if (forwarded !== input) finding('forwarded bytes differ from the input', input, forwarded);
  if (!forwarded.startsWith(result.path) || (result.query !== '' && !result.query.startsWith('?'))) {
    finding('authorized path is not the forwarded path', input, `${result.path} | ${result.query}`);
  }
  const strict = strictSegments(result.path);
  if (strict === null) {
    finding('accepted a path a strict reader finds ambiguous', input, result.path);
    return;
  }
  if (!strictQueryOk(result.query))
    finding('accepted a query with a bad byte or a fragment', input, result.query);
  let match;
  try {
    match = matcher.match('GET', result.path);
  } catch (error) {
    finding('matcher threw', input, String(error));
    return;
  }
  if (match === null) return;
  counts.matched++;
  // Each parameter must hold exactly the raw segment(s) at its position in a strict split.
  const pattern = PATTERNS[match.rule.index];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (!p.startsWith('{')) {
      if (strict[i]?.raw !== p) finding('literal segment mismatch', input, `${p} vs ${strict[i]?.raw}`);
      continue;
    }
    const catchAll = p.endsWith('+}');
    const name = p.slice(1, catchAll ? -2 : -1);
    const expected = catchAll
      ? strict
          .slice(i)
          .map((s) => s.raw)
          .join('/')
      : strict[i]?.raw;
    if (match.params[name] !== expected) {
      finding(
        'parameter bound to another segment',
        input,
        `${name}=${match.params[name]} expected ${expected}`,
      );
    }
  }
  if (!pattern.some((p) => p.endsWith('+}')) && pattern.length !== strict.length) {
    finding('route matched a path of another length', input, match.rule.pattern);
  }
  if (match.rule.requirement.kind === 'permissions') {
    try {
      const resource = resolveResource(match.rule.requirement.resource, match.params);
      const binding = match.rule.requirement.resource;
      if (binding.kind !== 'token_owner') {
        const ownerAt = pattern.indexOf(`{${binding.ownerParam}}`);
        if (resource.owner !== strict[ownerAt]?.raw.toLowerCase()) {
          finding('resource owner differs from the strict reading', input, `${resource.owner}`);
        }
        if (binding.kind === 'repository') {
          const repoAt = pattern.indexOf(`{${binding.repoParam}}`);
          if (resource.repo !== strict[repoAt]?.raw.toLowerCase()) {
            finding('resource repository differs from the strict reading', input, `${resource.repo}`);
          }
        }
      }
    } catch (error) {
      finding('resolveResource threw', input, String(error));
    }
  }
}

const TOKENS = [generateToken('fine_grained'), generateToken('classic')];

function fuzzQuery() {
  counts.queries++;
  let query = '?';
  const n = int(8);
  for (let i = 0; i < n; i++) query += pick(QUERY_PIECES);
  const planted = chance(0.2);
  if (planted) {
    const token = pick(TOKENS);
    query +=
      pick(['&t=', '&', '=', ';x=', '+']) +
      (chance(0.3) ? `%70${token.slice(1)}` : token) +
      pick(['', '&a=1', 'x']);
  }
  let result;
  try {
    result = checkQuery(query);
  } catch (error) {
    finding('checkQuery threw', query, String(error));
    return;
  }
  if (!result.ok) counts.queriesRefused[result.reason] = (counts.queriesRefused[result.reason] ?? 0) + 1;
  if (planted && result.ok) finding('a query carrying a token was let through', query, '');
  if (!result.ok && TOKENS.some((t) => result.detail.includes(t)))
    finding('checkQuery repeated the token', query, '');
}

function fuzzToken() {
  counts.tokens++;
  const base = chance(0.5) ? pick(TOKENS) : generateToken(chance(0.5) ? 'fine_grained' : 'classic');
  const input = chance(0.15)
    ? base
    : chance(0.5)
      ? mutate(base)
      : base.slice(0, int(TOKEN_LENGTH + 4)) + mutate('');
  let parsed;
  try {
    parsed = parseToken(input);
  } catch (error) {
    finding('parseToken threw', input, String(error));
    return;
  }
  if (parsed.ok) counts.tokensValid++;
  if (parsed.ok !== referenceToken(input))
    finding('parseToken disagrees with the reference', input, String(parsed.ok));
  if (parsed.ok && parsed.kind !== (input.startsWith('pgt_') ? 'fine_grained' : 'classic')) {
    finding('parseToken reports the wrong kind', input, parsed.kind);
  }
}

function fuzzBearer() {
  counts.bearers++;
  const token = pick(TOKENS);
  const shapes = [
    () => `Bearer ${token}`,
    () => mutate(`Bearer ${token}`),
    () =>
      `${pick(['Bearer', 'bearer', 'BEARER', 'Basic', ''])}${pick([' ', '  ', '\t', ''])}${mutate(token)}`,
    () => `Bearer ${token}, Bearer ${token}`,
    () => segment() + segment(),
  ];
  const value = pick(shapes)();
  let result;
  try {
    result = extractCredential(value);
  } catch (error) {
    finding('extractCredential threw', value, String(error));
    return;
  }
  const text = value;
  if (result.kind === 'token') {
    counts.bearersAccepted++;
    if (!text.includes(result.token) || /[\s,]/.test(result.token) || result.token === '') {
      finding('extracted credential is not a clean substring', value, result.token);
    }
  } else if (result.kind === 'invalid' && text.trim().length >= 8 && result.detail.includes(text.trim())) {
    finding('extractCredential repeated the header in its detail', value, result.detail);
  }
}

const READER = {
  maxTargetLength: 8192,
  maxHeaderCount: 100,
  trustedProxies: new TrustedProxies([]),
  allowUnderscores: false,
};
const HEADER_NAMES = [
  'Host',
  'Authorization',
  'authorization',
  'Cookie',
  'X-Api-Key',
  'Proxy-Authorization',
  'Accept',
  'X_Patgate_User',
  'X-Patgate_User',
  'x-patgate-user',
  'X-PATGATE-TOKEN-ID',
  'X_Forwarded_For',
  'Content-Type',
  'Connection',
  'User-Agent',
  'X-Custom_Name',
  'Forwarded',
];
const HEADER_VALUES = [
  'a',
  'keep-alive',
  'content-type',
  'x-custom',
  'text/plain',
  'application/x-www-form-urlencoded,x',
  'session=abc',
  '127.0.0.1:8080',
  'Bearer x',
];

function fuzzHeaders() {
  counts.headerSets++;
  const token = pick(TOKENS);
  const raw = ['Host', '127.0.0.1:8080'];
  let planted = false;
  let authorizations = 0;
  const n = int(8);
  for (let i = 0; i < n; i++) {
    const name = pick(HEADER_NAMES);
    let value = pick(HEADER_VALUES);
    if (name.toLowerCase() === 'authorization') {
      authorizations++;
      value = `Bearer ${token}`;
    } else if (chance(0.15)) {
      value = `${pick(['', 'x=', 'Bearer ', 'a;'])}${token}${pick(['', ';', ' x'])}`;
      planted = true;
    }
    raw.push(name, value);
  }
  const input = {
    method: 'GET',
    url: '/repos/acme/api',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    rawHeaders: raw,
    peerAddress: '127.0.0.1',
    expectContinue: false,
    secure: false,
  };
  let read;
  try {
    read = readRequest(input, READER);
  } catch (error) {
    finding('readRequest threw', raw, String(error));
    return;
  }
  if (read.kind === 'shape') {
    counts.headersRefused[read.reason] = (counts.headersRefused[read.reason] ?? 0) + 1;
    if (TOKENS.some((t) => read.detail.includes(t)))
      finding('readRequest repeated a token', raw, read.detail);
    return;
  }
  if (planted) finding('a token outside Authorization was let through', raw, '');
  if (authorizations > 1 && read.credential.kind === 'token')
    finding('two Authorization headers accepted', raw, '');
  for (let i = 0; i < read.headers.length; i += 2) {
    const name = read.headers[i].toLowerCase();
    if (name.includes('_') || name.startsWith('x-patgate-') || name === 'authorization' || name === 'host') {
      finding('readRequest forwards a header it must drop', raw, name);
    }
    if (read.headers[i + 1].includes(token)) finding('readRequest forwards a token', raw, name);
  }
}

const started = performance.now();
const deadline = started + seconds * 1000;
while (performance.now() < deadline && findings.length < 20) {
  for (let i = 0; i < 1000; i++) {
    counts.cases++;
    const r = random();
    if (r < 0.55) fuzzTarget(structuredTarget());
    else if (r < 0.65) fuzzTarget(randomBytesTarget());
    else if (r < 0.75) fuzzTarget(mutate(structuredTarget()));
    else if (r < 0.83) fuzzQuery();
    else if (r < 0.88) fuzzToken();
    else if (r < 0.94) fuzzBearer();
    else fuzzHeaders();
  }
}

const elapsed = ((performance.now() - started) / 1000).toFixed(1);
console.log(`patgate fuzz: seed ${seed}, ${elapsed} s`);
console.log(`  cases:    ${counts.cases}`);
console.log(
  `  targets:  ${counts.targets} (accepted ${counts.accepted}, matched a route ${counts.matched}, refused ${counts.targets - counts.accepted})`,
);
for (const [reason, n] of Object.entries(counts.refusedByReason).sort((a, b) => b[1] - a[1])) {
  console.log(`    refused ${reason.padEnd(22)} ${n}`);
}
console.log(`  queries:  ${counts.queries} (refused ${JSON.stringify(counts.queriesRefused)})`);
console.log(`  tokens:   ${counts.tokens} (valid ${counts.tokensValid})`);
console.log(`  bearers:  ${counts.bearers} (accepted ${counts.bearersAccepted})`);
console.log(`  headers:  ${counts.headerSets} (refused ${JSON.stringify(counts.headersRefused)})`);
if (findings.length > 0) {
  console.log(`FINDINGS (${findings.length}); reproduce with --seed ${seed}:`);
  for (const f of findings) console.log(`  ${f.kind}: ${f.input}${f.detail === '' ? '' : ` -> ${f.detail}`}`);
  process.exit(1);
}
console.log('  findings: none');
