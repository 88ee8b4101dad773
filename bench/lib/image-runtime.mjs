// How the image runs patgate, read from the Dockerfile, so that the benchmark runs every process
// (proxies, upstream, Redis, load generator) the way a deployment runs: the allocator settings
// (`ENV GLIBC_TUNABLES=`) and the flags node gets before the entry point (`ENTRYPOINT`).
import { readFileSync } from 'node:fs';

const DOCKERFILE = new URL('../../Dockerfile', import.meta.url);
const ENTRY = 'dist/src/main.js';

function dockerfile() {
  return readFileSync(DOCKERFILE, 'utf8');
}

export function imageGlibcTunables() {
  const m = /^ENV GLIBC_TUNABLES=(\S+)$/m.exec(dockerfile());
  if (m === null) throw new Error('Dockerfile has no `ENV GLIBC_TUNABLES=` line');
  return m[1];
}

/** The node flags of the Dockerfile's `ENTRYPOINT ["node", ...flags, "dist/src/main.js"]`. */
export function imageNodeFlags() {
  const m = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile());
  if (m === null) throw new Error('Dockerfile has no exec-form `ENTRYPOINT [...]` line');
  const argv = JSON.parse(m[1]);
  const entry = argv.indexOf(ENTRY);
  if (argv[0] !== 'node' || entry < 0)
    throw new Error(`Dockerfile ENTRYPOINT is not ["node", ..., "${ENTRY}"]`);
  return argv.slice(1, entry);
}

/**
 * `image`: the image's allocator settings and node flags; `default`: glibc's and V8's defaults.
 * Sets GLIBC_TUNABLES in this process's environment (every child inherits it) and returns the
 * node flags to start every proxy with.
 */
export function applyRuntime(kind) {
  if (kind !== 'image' && kind !== 'default') throw new Error('--runtime is image or default');
  if (kind === 'default') {
    delete process.env.GLIBC_TUNABLES;
    return [];
  }
  process.env.GLIBC_TUNABLES = imageGlibcTunables();
  return imageNodeFlags();
}
