/**
 * The Lua behind `RedisWebhookStore`. Keys are derived from the prefix in ARGV
 * (one primary or Sentinel, not Cluster, as for the grant store). Layout:
 *
 * | key                        | type   | holds                                              |
 * | -------------------------- | ------ | -------------------------------------------------- |
 * | `{p}events`                | stream | webhook events, appended with the audit entry      |
 * | `{p}wh:subs`               | hash   | subscription id -> JSON `Subscription`             |
 * | `{p}wh:d:{sub}:{delivery}` | hash   | one delivery: payload, status, attempts, last try  |
 * | `{p}wh:list:{sub}`         | zset   | delivery ids of a subscription by creation (ms)    |
 * | `{p}wh:due`                | zset   | `{sub}/{delivery}` by when the next attempt is due |
 *
 * A claimed delivery stays in `wh:due`, re-scored to the end of its lease: if the
 * instance dies mid-attempt, the entry comes due again and another instance takes
 * it. The `lease` field names the current holder, so a late completion by one whose
 * lease lapsed changes nothing.
 */

/**
 * Creates the deliveries of one event (those that exist are left alone: fan-out is
 * retried after a crash), then acknowledges the stream entry.
 * ARGV: prefix, stream, group, streamId, deliveryId, type, payload, nowMs, nowIso, retentionMs, keep, sub...
 */
export const FAN_OUT_LUA = `
local prefix = ARGV[1]
for i = 12, #ARGV do
  local sub = ARGV[i]
  local dk = prefix .. 'wh:d:' .. sub .. ':' .. ARGV[5]
  if redis.call('EXISTS', dk) == 0 then
    redis.call('HSET', dk, 'id', ARGV[5], 'sub', sub, 'type', ARGV[6], 'payload', ARGV[7],
      'status', 'pending', 'attempts', 0, 'created_at', ARGV[9], 'round_start', ARGV[8],
      'last_at', '', 'last_code', '', 'last_error', '', 'next_at', ARGV[9], 'lease', '')
    redis.call('PEXPIRE', dk, ARGV[10])
    redis.call('ZADD', prefix .. 'wh:due', ARGV[8], sub .. '/' .. ARGV[5])
    local list = prefix .. 'wh:list:' .. sub
    redis.call('ZADD', list, ARGV[8], ARGV[5])
    redis.call('ZREMRANGEBYRANK', list, 0, -(tonumber(ARGV[11]) + 1))
  end
end
redis.call('XACK', ARGV[2], ARGV[3], ARGV[4])
return 0
`;

/**
 * Takes due deliveries. ARGV: prefix, nowMs, max, leaseUntilMs, nowIso, leasePrefix.
 * Returns [[member, {hash fields...}, subscriptionJson|false], ...].
 */
export const CLAIM_LUA = `
local prefix = ARGV[1]
local due = prefix .. 'wh:due'
local members = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, member in ipairs(members) do
  local slash = string.find(member, '/', 1, true)
  local dk = false
  if slash then dk = prefix .. 'wh:d:' .. string.sub(member, 1, slash - 1) .. ':' .. string.sub(member, slash + 1) end
  if not dk or redis.call('EXISTS', dk) == 0 then
    redis.call('ZREM', due, member)
  else
    redis.call('ZADD', due, ARGV[4], member)
    redis.call('HINCRBY', dk, 'attempts', 1)
    redis.call('HSET', dk, 'last_at', ARGV[5], 'lease', ARGV[6] .. i)
    local sub = redis.call('HGET', prefix .. 'wh:subs', string.sub(member, 1, slash - 1))
    out[#out + 1] = {member, redis.call('HGETALL', dk), sub}
  end
end
return out
`;

/**
 * Records an attempt. KEYS: wh:due, the delivery hash.
 * ARGV: member, lease, status, code, error, nextAtMs ('' = done), nextAtIso.
 * Returns 1, or 0 when the lease is no longer this caller's.
 */
export const COMPLETE_LUA = `
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'status', ARGV[3], 'last_code', ARGV[4], 'last_error', ARGV[5],
  'next_at', ARGV[7], 'lease', '')
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[6], ARGV[1])
end
return 1
`;

/**
 * Queues a delivery again with a fresh attempt budget. KEYS: wh:due, the delivery hash.
 * ARGV: member, nowMs, nowIso. Returns 0 for an unknown delivery.
 */
export const REDELIVER_LUA = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'status', 'pending', 'attempts', 0, 'round_start', ARGV[2],
  'next_at', ARGV[3], 'lease', '')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`;
