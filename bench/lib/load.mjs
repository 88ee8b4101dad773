// One load shape for every proxy: keep-alive, N connections, GET, wrk when installed else autocannon.
import { fileURLToPath } from 'node:url';
import { hasCommand, run } from './procs.mjs';

const WRK_DIR = fileURLToPath(new URL('../wrk/', import.meta.url));
const AUTOCANNON = fileURLToPath(new URL('./autocannon-driver.mjs', import.meta.url));

export function pickDriver(preference = 'auto') {
  if (preference === 'autocannon') return 'autocannon';
  const wrk = hasCommand('wrk', ['--version']);
  if (preference === 'wrk' && !wrk) throw new Error('wrk is not installed');
  return wrk ? 'wrk' : 'autocannon';
}

/**
 * Drives `url` for `durationS` seconds. `token`: one fixed bearer (static request);
 * `tokenFile`: a different token per request, cycling from `start`; `headers`: more fixed request
 * headers (the decision listener's `X-Original-*`).
 * Returns { rps, p50Ms, p90Ms, p99Ms, p999Ms, maxMs, requests, non2xx, socketErrors }.
 */
export async function drive({
  driver,
  url,
  durationS,
  connections,
  threads = 1,
  token,
  tokenFile,
  start = 0,
  headers: extra = {},
}) {
  const headers = token === undefined ? { ...extra } : { ...extra, authorization: `Bearer ${token}` };
  let result;
  if (driver === 'wrk') {
    const args = [`-t${threads}`, `-c${connections}`, `-d${durationS}s`, '--timeout', '5s'];
    if (token !== undefined) args.push('-H', `Authorization: Bearer ${token}`);
    for (const [name, value] of Object.entries(extra)) args.push('-H', `${name}: ${value}`);
    if (tokenFile !== undefined) {
      args.push('-s', `${WRK_DIR}tokens.lua`, url, '--', tokenFile, String(start));
    } else {
      args.push('-s', `${WRK_DIR}report.lua`, url);
    }
    result = await run('wrk', args);
  } else {
    const spec = { url, connections, durationS, headers, tokenFile, start };
    result = await run(process.execPath, [AUTOCANNON, JSON.stringify(spec)]);
  }
  const line = result.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (line === undefined) {
    throw new Error(
      `${driver} produced no result (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  const r = JSON.parse(line.slice('WRKJSON '.length));
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50Ms: r.p50_us / 1000,
    p90Ms: r.p90_us / 1000,
    p99Ms: r.p99_us / 1000,
    p999Ms: r.p999_us / 1000,
    maxMs: r.max_us / 1000,
    requests: r.requests,
    non2xx: r.status,
    socketErrors: r.connect + r.read + r.write + r.timeout,
  };
}
