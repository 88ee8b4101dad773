// Reads a V8 .cpuprofile (node --cpu-prof) into self / inclusive time per function and per package.

/** Where a frame's code lives: a package, patgate's own dist, Node internals, or V8 pseudo-frames. */
export function categoryOf(url, functionName) {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return '(program)';
    return 'native/builtin';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  const own = /\/dist\/src\/([^/]+)\//.exec(url);
  if (own) return `patgate ${own[1]}/`;
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node:${m ? m[1].replace(/\.js$/, '') : 'internal'}`;
  }
  if (url.includes('/bench/')) return 'bench';
  return 'other';
}

export function analyse(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  let idle = 0;
  const byFunction = new Map();
  const byCategory = new Map();
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    const { functionName, url, lineNumber } = node.callFrame;
    total += us;
    if (functionName === '(idle)') idle += us;
    const name = functionName || '(anonymous)';
    const key = `${name} ${shortUrl(url)}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const cat = categoryOf(url, functionName);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
    // Inclusive: credit every distinct function on the stack once.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = nodes.get(at).callFrame;
      const k = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const sorted = (m) =>
    [...m.entries()]
      .filter(([k]) => !k.startsWith('(idle)') && k !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000, pctBusy: (100 * us) / busy }));
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    selfByFunction: sorted(byFunction),
    selfByCategory: sorted(byCategory),
    inclusive: sorted(inclusive),
  };
}

function shortUrl(url) {
  return url
    .replace(/^file:\/\/.*\/node_modules\//, '')
    .replace(/^file:\/\/.*\/dist\/src\//, 'src/')
    .replace(/^node:internal\//, 'node:');
}
