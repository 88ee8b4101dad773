// The allocator settings the image ships (Dockerfile `ENV GLIBC_TUNABLES=`), for the benchmark to
// run every process under, so that what it measures is what a deployment runs.
import { readFileSync } from 'node:fs';

const DOCKERFILE = new URL('../../Dockerfile', import.meta.url);

export function imageGlibcTunables() {
  const text = readFileSync(DOCKERFILE, 'utf8');
  const m = /^ENV GLIBC_TUNABLES=(\S+)$/m.exec(text);
  if (m === null) throw new Error('Dockerfile has no `ENV GLIBC_TUNABLES=` line');
  return m[1];
}
