-- A different bearer token per request, cycling through a file (one token a line).
-- Args: TOKEN_FILE [START_INDEX]. Threads start at evenly spread offsets.
local tokens = {}
local n = 0
local i = 0
local counter = 0
local threads = {}

function setup(thread)
  thread:set('tid', counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    tokens[n] = 'Bearer ' .. line
  end
  local start = tonumber(args[2] or '0') or 0
  local tid = tonumber(wrk.thread:get('tid') or 0) or 0
  i = (start + tid * math.floor(n / 8)) % n
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format(nil, nil, { ['Host'] = wrk.headers['Host'], ['Authorization'] = tokens[i] })
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
