#!/usr/bin/env node
// Checks that every relative link in README.md and docs/*.md resolves: the file exists, and
// a `#fragment` names a heading of that file (GitHub's anchors). No network: links with a
// scheme (https:, mailto:) are not followed. Exit 1 with one line per broken link.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** The Markdown files checked: the README and every page under docs/. */
function pages() {
  const docs = join(ROOT, 'docs');
  const found = existsSync(docs)
    ? readdirSync(docs, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(docs, f))
    : [];
  return [join(ROOT, 'README.md'), ...found];
}

/** The text outside fenced code blocks, line numbers kept; inline code spans blanked. */
function prose(text) {
  let fence = null;
  return text.split('\n').map((line) => {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && opener !== undefined) {
      fence = opener;
      return '';
    }
    if (fence !== null) {
      if (line.trim().startsWith(fence)) fence = null;
      return '';
    }
    return line.replace(/(`+)[^`]*?\1/g, (m) => ' '.repeat(m.length));
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchorsOf(file) {
  const seen = new Map();
  const anchors = new Set();
  let fence = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && opener !== undefined) {
      fence = opener;
      continue;
    }
    if (fence !== null) {
      if (line.trim().startsWith(fence)) fence = null;
      continue;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

const anchorCache = new Map();
function hasAnchor(file, fragment) {
  if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(file));
  return anchorCache.get(file).has(decodeURIComponent(fragment).toLowerCase());
}

const broken = [];
for (const page of pages()) {
  const lines = prose(readFileSync(page, 'utf8'));
  lines.forEach((line, i) => {
    // Inline links and images: [text](target) or [text](target "title").
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [path, fragment] = target.split('#', 2);
      const file = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
      const where = `${relative(ROOT, page)}:${i + 1}`;
      if (!existsSync(file)) {
        broken.push(`${where}: ${target}: no such file`);
        continue;
      }
      if (fragment !== undefined && fragment !== '') {
        if (statSync(file).isDirectory() || !file.endsWith('.md')) {
          broken.push(`${where}: ${target}: an anchor in a file that is not Markdown`);
        } else if (!hasAnchor(file, fragment)) {
          broken.push(`${where}: ${target}: no heading "#${fragment}" in ${relative(ROOT, file)}`);
        }
      }
    }
  });
}

for (const line of broken) console.error(line);
if (broken.length > 0) {
  console.error(`links: ${broken.length} broken`);
  process.exit(1);
}
console.log(`links: ok (${pages().length} files)`);
