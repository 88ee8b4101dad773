// Runs one autocannon load in its own process (so it can be pinned like wrk) and prints one JSON line.
// argv[2]: JSON { url, connections, durationS, headers, tokenFile?, start? }.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2]);
const config = {
  url: opts.url,
  connections: opts.connections,
  duration: opts.durationS,
  headers: opts.headers,
  pipelining: 1,
};
if (opts.tokenFile) {
  const tokens = readFileSync(opts.tokenFile, 'utf8').split('\n').filter(Boolean);
  let i = (opts.start ?? 0) % tokens.length;
  config.requests = [
    {
      setupRequest(req) {
        i = (i + 1) % tokens.length;
        req.headers = { ...opts.headers, authorization: `Bearer ${tokens[i]}` };
        return req;
      },
    },
  ];
}
const result = await autocannon(config);
const out = {
  requests: result.requests.total,
  duration_us: Math.round(result.duration * 1e6),
  bytes: result.throughput.total,
  connect: 0,
  read: result.errors,
  write: 0,
  status: result.non2xx,
  timeout: result.timeouts,
  p50_us: Math.round(result.latency.p50 * 1000),
  p90_us: Math.round(result.latency.p90 * 1000),
  p99_us: Math.round(result.latency.p99 * 1000),
  p999_us: Math.round(result.latency.p99_9 * 1000),
  mean_us: result.latency.mean * 1000,
  max_us: Math.round(result.latency.max * 1000),
};
process.stdout.write(`WRKJSON ${JSON.stringify(out)}\n`);
