import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTarget, DEFAULT_MAX_TARGET_LENGTH, type TargetRejection } from './target.js';

describe('checkTarget accepts unambiguous origin-form targets', () => {
  const accepted: [string, string, string][] = [
    ['/', '/', ''],
    ['/?', '/', '?'],
    ['/?a=1', '/', '?a=1'],
    ['/a', '/a', ''],
    ['/repos/acme/api/contents/src/a.ts', '/repos/acme/api/contents/src/a.ts', ''],
    ['/a?', '/a', '?'],
    ['/a?b?c', '/a', '?b?c'],
    ['/a%20b', '/a%20b', ''],
    ['/a%41%7e%7E', '/a%41%7e%7E', ''],
    // Well-formed UTF-8, percent-encoded: e-acute, a CJK character, an emoji.
    ['/contents/%C3%A9t%C3%A9.md', '/contents/%C3%A9t%C3%A9.md', ''],
    ['/a%e6%97%a5/%F0%9F%98%80', '/a%e6%97%a5/%F0%9F%98%80', ''],
    ['/a.b/.a/a./.../a..', '/a.b/.a/a./.../a..', ''],
    ["/a:b@c!$&'()*+,=-_~", "/a:b@c!$&'()*+,=-_~", ''],
    ['/a"<>`{}^|', '/a"<>`{}^|', ''],
    // The query is opaque: forwarded as-is, never interpreted.
    ['/a?x=/../%2f%2e%zz;\\//', '/a', '?x=/../%2f%2e%zz;\\//'],
  ];
  for (const [target, path, query] of accepted) {
    it(JSON.stringify(target), () => {
      expect(checkTarget(target)).toEqual({ ok: true, path, query, encodedSlash: false });
    });
  }

  // Allowed here, and checked against the route once it is known (gateway/encoded-slash.ts).
  it.each(['/a%2fb', '/contents/docs%2FREADME.md'])('%s, flagged as holding an encoded "/"', (target) => {
    expect(checkTarget(target)).toEqual({ ok: true, path: target, query: '', encodedSlash: true });
  });
});

describe('checkTarget refuses ambiguous targets', () => {
  const refused: [string, TargetRejection][] = [
    ['', 'not_origin_form'],
    ['*', 'not_origin_form'],
    ['http://x/a', 'not_origin_form'],
    ['HTTPS://x/a', 'not_origin_form'],
    ['example.com:443', 'not_origin_form'],
    ['a/b', 'not_origin_form'],
    [' /a', 'not_origin_form'],
    ['/a b', 'bad_byte'],
    ['/a\tb', 'bad_byte'],
    ['/a\0b', 'bad_byte'],
    ['/a\rb', 'bad_byte'],
    ['/a\nb', 'bad_byte'],
    ['/a\x7fb', 'bad_byte'],
    ['/caf\xc3\xa9', 'bad_byte'],
    ['/café', 'bad_byte'],
    ['/a?q=caf\xe9', 'bad_byte'],
    ['/a?q= ', 'bad_byte'],
    ['/a#frag', 'fragment'],
    ['/a?x#frag', 'fragment'],
    ['/#', 'fragment'],
    ['/a\\b', 'backslash'],
    ['/\\\\evil.example/a', 'backslash'],
    ['/a%', 'bad_percent_encoding'],
    ['/a%2', 'bad_percent_encoding'],
    ['/a%zz', 'bad_percent_encoding'],
    ['/a%g0', 'bad_percent_encoding'],
    ['/a%2/b', 'bad_percent_encoding'],
    ['/a%3bb', 'encoded_separator'],
    ['/a%3Fb', 'encoded_separator'],
    ['/a%23b', 'encoded_separator'],
    ['/a%5cb', 'encoded_separator'],
    ['/a%5Cb', 'encoded_separator'],
    ['/%2e%2e/admin', 'encoded_separator'],
    ['/a/%2E%2e', 'encoded_separator'],
    ['/a/.%2e', 'encoded_separator'],
    ['/a%00', 'encoded_separator'],
    ['/a%252f', 'encoded_separator'],
    ['/a%25', 'encoded_separator'],
    ['/a%0a', 'encoded_separator'],
    ['/a%1F', 'encoded_separator'],
    ['/a%7f', 'encoded_separator'],
    ['/a%c0%af', 'bad_percent_encoding'],
    ['/a%e0%80%af', 'bad_percent_encoding'],
    ['/a%ed%a0%80', 'bad_percent_encoding'],
    ['/a%f4%90%80%80', 'bad_percent_encoding'],
    ['/a%C3', 'bad_percent_encoding'],
    ['/a%C3%41', 'bad_percent_encoding'],
    ['/a%A9', 'bad_percent_encoding'],
    ['/a%ff', 'bad_percent_encoding'],
    ['/.', 'dot_segment'],
    ['/..', 'dot_segment'],
    ['/a/./b', 'dot_segment'],
    ['/a/../b', 'dot_segment'],
    ['/a/..', 'dot_segment'],
    ['/a/.?x', 'dot_segment'],
    ['/a/..?x', 'dot_segment'],
    ['//a', 'empty_segment'],
    ['//', 'empty_segment'],
    ['/a//b', 'empty_segment'],
    ['/a/', 'empty_segment'],
    ['/a/?x', 'empty_segment'],
    ['/a;b=c', 'path_parameter'],
    ['/a/b;jsessionid=1/c', 'path_parameter'],
    ['/a/;', 'path_parameter'],
  ];
  for (const [target, reason] of refused) {
    it(`${JSON.stringify(target)} -> ${reason}`, () => {
      const result = checkTarget(target);
      expect(result).toMatchObject({ ok: false, reason });
      if (!result.ok) expect(result.detail).not.toBe('');
    });
  }

  it('refuses a target longer than the limit, and accepts one exactly at it', () => {
    const atLimit = `/${'a'.repeat(DEFAULT_MAX_TARGET_LENGTH - 1)}`;
    expect(checkTarget(atLimit).ok).toBe(true);
    expect(checkTarget(`${atLimit}a`)).toMatchObject({ ok: false, reason: 'too_long' });
    expect(checkTarget('/abcd', 4)).toMatchObject({ ok: false, reason: 'too_long' });
    expect(checkTarget('/abc', 4).ok).toBe(true);
  });
});

// --- properties ---------------------------------------------------------------------------

const TOKENS = [
  'a',
  'B',
  '0',
  '.',
  '..',
  '-',
  '~',
  ':',
  '%',
  '%2',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '%25',
  '%252f',
  '%00',
  '%41',
  '%7e',
  '%20',
  '%c0%af',
  '%C3%A9',
  '%C3',
  '%zz',
  ';',
  '\\',
  '#',
  ' ',
  '\t',
  '\0',
  '\x7f',
  '\xe9',
  '"',
  '{',
];
const GOOD_TOKENS = ['a', 'B', '0', '.', '-', '~', ':', '%41', '%7e', '%20', '"', '{'];
const token = fc.oneof(
  { arbitrary: fc.constantFrom(...GOOD_TOKENS), weight: 6 },
  { arbitrary: fc.constantFrom(...TOKENS), weight: 1 },
);
const segment = fc.array(token, { maxLength: 3 }).map((t) => t.join(''));
// Mostly well-formed-looking paths, so that many are accepted and the interesting
// ones sit right next to the refused ones.
const structured = fc
  .tuple(
    fc.array(segment, { maxLength: 5 }),
    fc.nat(7).map((n) => n === 0),
    fc.option(fc.array(fc.constantFrom(...TOKENS, '/', '?', '='), { maxLength: 6 })),
  )
  .map(([segments, trailing, query]) => {
    const path = `/${segments.join('/')}${trailing ? '/' : ''}`;
    return query === null ? path : `${path}?${query.join('')}`;
  });
const anyByte = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const raw = fc.oneof(
  { arbitrary: structured, weight: 4 },
  {
    arbitrary: fc.string({
      unit: fc.oneof(fc.constantFrom('/', '.', '%', '2', 'e', 'f', '?', 'a'), anyByte),
    }),
    weight: 1,
  },
  { arbitrary: fc.string({ unit: anyByte }).map((s) => `/${s}`), weight: 1 },
);

function percentDecodeBytes(s: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i));
  }
  return bytes;
}

/** RFC 3986 §5.2.4 remove_dot_segments, as a strict upstream would apply it. */
function removeDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input !== '') {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../') || input === '/..') {
      input = `/${input.slice(input === '/..' ? 3 : 4)}`;
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', 1);
      const end = next < 0 ? input.length : next;
      output += input.slice(0, end);
      input = input.slice(end);
    }
  }
  return output;
}

// What Node's WHATWG URL parser percent-encodes in a path; undone on both sides before comparing.
function canonical(segment: string): string {
  return segment.replace(/%(22|3c|3e|60|7b|7d)/gi, (_, h: string) =>
    String.fromCharCode(Number.parseInt(h, 16)),
  );
}

describe('checkTarget properties', () => {
  it('never throws, and an accepted target is exactly path + query', () => {
    fc.assert(
      fc.property(raw, (target) => {
        const result = checkTarget(target);
        if (!result.ok) return;
        expect(result.path + result.query).toBe(target);
        expect(result.query === '' || result.query.startsWith('?')).toBe(true);
        expect(result.path.includes('?')).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts only paths that every strict reading splits into the same segments', () => {
    let acceptedCount = 0;
    fc.assert(
      fc.property(raw, (target) => {
        const result = checkTarget(target);
        if (!result.ok) return;
        acceptedCount++;
        const { path } = result;
        const segments = path === '/' ? [] : path.slice(1).split('/');
        // An encoded "/" is flagged, for the route to allow it in a tail parameter or refuse it.
        expect(result.encodedSlash).toBe(/%2f/i.test(path));
        if (result.encodedSlash) return;
        for (const s of segments) {
          expect(s).not.toBe('');
          expect(s === '.' || s === '..').toBe(false);
          const decoded = percentDecodeBytes(s);
          for (const byte of [0x2f, 0x5c, 0x00, 0x25, 0x3b, 0x3f, 0x23]) expect(decoded).not.toContain(byte);
          const text = String.fromCharCode(...decoded);
          expect(text === '.' || text === '..').toBe(false);
          expect(s.includes(';')).toBe(false);
        }
        // A strict RFC 3986 reader resolves nothing away...
        expect(removeDotSegments(path)).toBe(path);
        // ...and neither does the WHATWG parser (which also reads `\` and `%2e` as structure).
        const whatwg = new URL(path, 'http://gateway.invalid').pathname;
        const theirs = whatwg === '/' ? [] : whatwg.slice(1).split('/');
        expect(theirs.map(canonical)).toEqual(segments.map(canonical));
        // Checking again what was accepted changes nothing.
        expect(checkTarget(path)).toEqual({ ok: true, path, query: '', encodedSlash: false });
      }),
      { numRuns: 5000 },
    );
    // The generators must exercise acceptance, not only refusal.
    expect(acceptedCount).toBeGreaterThan(500);
  });
});
