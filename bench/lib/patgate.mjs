// patgate under test: tokens issued into the private Redis through the real TokenService, and
// `patgate serve` started as its own process (on the proxy core) from a generated config.
import { generateKeyPairSync } from 'node:crypto';
import { openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, start, stop, waitForPort } from './procs.mjs';
import { FEATURES, patgateConfig, routeMap } from './routes.mjs';

const DIST = new URL('../../dist/src/', import.meta.url);
export const KEY_PREFIX = 'patgate-bench:';
export const OWNER = 'acme';

async function dist(path) {
  try {
    return await import(new URL(path, DIST).href);
  } catch (error) {
    throw new Error(`cannot load dist/src/${path}: run \`npm run build\` first (${error.message})`);
  }
}

/**
 * Issues `count` fine-grained tokens for alice on acme (a registered org she is a member of),
 * reaching two named repositories: the decision walks the org, repository and permission checks.
 */
export async function seedTokens(redisUrl, count) {
  const { RedisGrantStore } = await dist('store/redis-store.js');
  const store = new RedisGrantStore({ url: redisUrl, keyPrefix: KEY_PREFIX, commandTimeoutMs: 5_000 });
  return seedInto(store, count);
}

/** `seedTokens` into a Redis Cluster (`nodes`: `host:port` strings), in the Cluster layout. */
export async function seedClusterTokens(nodes, count) {
  const { RedisClusterGrantStore } = await dist('store/redis-cluster-store.js');
  const store = new RedisClusterGrantStore({
    nodes: nodes.map((node) => ({
      host: node.slice(0, node.lastIndexOf(':')),
      port: Number(node.slice(node.lastIndexOf(':') + 1)),
    })),
    keyPrefix: KEY_PREFIX,
    commandTimeoutMs: 5_000,
  });
  return seedInto(store, count);
}

async function seedInto(store, count) {
  const { TokenService } = await dist('admin/token-service.js');
  await store.ready();
  await store.setMember(OWNER, 'alice', 'member');
  const service = new TokenService(store, () => FEATURES);
  const tokens = [];
  const BATCH = 500;
  for (let done = 0; done < count; done += BATCH) {
    const batch = [];
    for (let k = done; k < Math.min(count, done + BATCH); k++) {
      batch.push(
        service.create({
          kind: 'fine_grained',
          user: 'alice',
          name: `bench-${k}`,
          resource_owner: OWNER,
          repositories: ['api', 'web'],
          permissions: { contents: 'read', issues: 'read', pull_requests: 'read' },
          expires_in_days: 30,
        }),
      );
    }
    for (const created of await Promise.all(batch)) tokens.push(created.token);
  }
  await store.close();
  return tokens;
}

/** Well-formed tokens (valid checksum) that the store has never seen: the negative-cache flood. */
export async function unknownTokens(count) {
  const { generateToken } = await dist('tokens/format.js');
  return Array.from({ length: count }, () => generateToken('fine_grained'));
}

/**
 * Starts `patgate serve`. `routes`: size of the route map; `maxEntries`: cache.max_entries.
 * `cpuProfDir`: run under `node --cpu-prof` (the profile is written on SIGTERM exit).
 * `distDir`: another build's `dist/src` to run instead (see bench/compare.mjs).
 * `nodeArgs`: extra flags for node (e.g. V8 tracing while investigating); `env`: extra environment.
 * `logLevel`: `info` (the default in production: every refusal is logged) unless told.
 * `workers`: the config's `workers` (a primary and N workers; resolves once all of them listen).
 * `decision`: also start the decision listener (`decision.listen`, 127.0.0.1 trusted), at `decisionUrl`.
 * `rateLimits`: turn `rate_limits` on (shared through the bench's Redis), with a budget no run spends.
 * `identityAssertion`: turn `identity_assertion` on, with an Ed25519 key written beside the config.
 * `clusterNodes`: use this Redis Cluster (`host:port` strings) as `store.cluster` instead of `redisUrl`.
 */
export async function startPatgate({
  dir,
  name,
  upstreamUrl,
  redisUrl,
  routes,
  maxEntries,
  core,
  cpuProfDir,
  distDir = fileURLToPath(DIST),
  logLevel = 'info',
  nodeArgs: extraNodeArgs = [],
  env = {},
  workers = 1,
  decision = false,
  rateLimits = false,
  identityAssertion = false,
  clusterNodes,
}) {
  const port = await freePort();
  const adminPort = await freePort();
  const decisionPort = decision ? await freePort() : null;
  const config = patgateConfig({
    listen: `127.0.0.1:${port}`,
    adminListen: `127.0.0.1:${adminPort}`,
    upstreamUrl,
    redisUrl,
    routes: routeMap(routes),
    maxEntries,
    prefix: KEY_PREFIX,
  });
  if (workers !== 1) config.workers = workers;
  if (clusterNodes !== undefined) {
    const { redis_url: _standalone, ...store } = config.store;
    config.store = { ...store, cluster: { nodes: clusterNodes } };
  }
  // The "warm, rate limits on" row: a budget no run spends, so every answer stays a 200.
  if (rateLimits) {
    config.rate_limits = {
      default: { limit: 1_000_000_000, window: '1h', per: 'user' },
      costs: [{ methods: ['POST', 'PUT', 'PATCH', 'DELETE'], points: 5 }],
    };
  }
  // The "warm, identity_assertion on" row: an EdDSA JWT signed per (token, route requirement).
  if (identityAssertion) {
    const keyFile = join(dir, `${name}-assertion.pem`);
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    config.identity_assertion = { key_file: keyFile };
  }
  if (decisionPort !== null) {
    config.decision = { listen: `127.0.0.1:${decisionPort}` };
    // nginx in front, on the same host: the only peer whose account of a request is believed.
    config.trusted_proxies = ['127.0.0.1'];
  }
  const configPath = join(dir, `${name}.json`);
  await writeFile(configPath, JSON.stringify(config, null, 1));
  const logFd = openSync(join(dir, `${name}.log`), 'a');
  const nodeArgs = [
    ...extraNodeArgs,
    ...(cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir]),
  ];
  const child = start(
    process.execPath,
    [...nodeArgs, join(distDir, 'main.js'), 'serve', '--config', configPath],
    {
      core,
      logFd,
      env: { ...env, PATGATE_LOG_LEVEL: logLevel },
    },
  );
  try {
    await waitForPort(port, 20_000, child);
    if (decisionPort !== null) await waitForPort(decisionPort, 20_000, child);
    // The first worker listening opens the port; the primary says when every one does.
    if (workers !== 1) await waitForLog(join(dir, `${name}.log`), '"patgate listening"', 20_000);
  } catch (error) {
    await stop(child);
    const log = await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '');
    throw new Error(`${error.message}\n--- ${name}.log ---\n${log.slice(-3000)}`);
  }
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    decisionUrl: decisionPort === null ? undefined : `http://127.0.0.1:${decisionPort}`,
    pid: child.pid,
    child,
    stop: () => stop(child),
  };
}

async function waitForLog(file, text, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await readFile(file, 'utf8')).includes(text)) {
    if (Date.now() > deadline) throw new Error(`no ${text} in ${file} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `patgate_cache_entries` from the admin listener's /metrics. */
export async function cacheEntries(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = /^patgate_cache_entries (\d+)/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}
