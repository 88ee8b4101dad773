/**
 * The Lua behind `RedisWebhookStore`. Layout (`{p}` is the store's key prefix: the
 * configured `key_prefix` on one Redis, `ClusterKeys.sidePrefix()` = `{p}{_side}:` on a
 * Cluster, beside the audit stream):
 *
 * | key                        | type   | holds                                              |
 * | -------------------------- | ------ | -------------------------------------------------- |
 * | `{p}events`                | stream | webhook events, appended with the audit entry      |
 * | `{p}wh:subs`               | hash   | subscription id -> JSON `Subscription`             |
 * | `{p}wh:d:{sub}:{delivery}` | hash   | one delivery: payload, status, attempts, last try  |
 * | `{p}wh:list:{sub}`         | zset   | delivery ids of a subscription by creation (ms)    |
 * | `{p}wh:due`                | zset   | `{sub}/{delivery}` by when the next attempt is due |
 *
 * Every script declares its keys (KEYS), so a Cluster client routes it to the slot
 * they share. The one exception: CLAIM learns which deliveries are due from `wh:due`
 * itself, so it builds their keys from the prefix in ARGV; on a Cluster that prefix
 * carries the same hash tag, so those keys live in the declared keys' slot.
 *
 * A claimed delivery stays in `wh:due`, re-scored to the end of its lease: if the
 * instance dies mid-attempt, the entry comes due again and another instance takes
 * it. The `lease` field names the current holder, so a late completion by one whose
 * lease lapsed changes nothing.
 */

/**
 * Creates the deliveries of one event (those that exist are left alone: fan-out is
 * retried after a crash), then acknowledges the stream entry.
 * KEYS: the stream, wh:due, then per subscription its delivery hash and its wh:list.
 * ARGV: group, streamId, deliveryId, type, payload, nowMs, nowIso, retentionMs, keep, sub...
 * (one sub per pair of keys).
 */
export const FAN_OUT_LUA = `
for i = 10, #ARGV do
  local sub = ARGV[i]
  local dk = KEYS[3 + 2 * (i - 10)]
  local list = KEYS[4 + 2 * (i - 10)]
  if redis.call('EXISTS', dk) == 0 then
    redis.call('HSET', dk, 'id', ARGV[3], 'sub', sub, 'type', ARGV[4], 'payload', ARGV[5],
      'status', 'pending', 'attempts', 0, 'created_at', ARGV[7], 'round_start', ARGV[6],
      'last_at', '', 'last_code', '', 'last_error', '', 'next_at', ARGV[7], 'lease', '')
    redis.call('PEXPIRE', dk, ARGV[8])
    redis.call('ZADD', KEYS[2], ARGV[6], sub .. '/' .. ARGV[3])
    redis.call('ZADD', list, ARGV[6], ARGV[3])
    redis.call('ZREMRANGEBYRANK', list, 0, -(tonumber(ARGV[9]) + 1))
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 0
`;

/**
 * Takes due deliveries, soonest first. KEYS: wh:due, wh:subs. ARGV: prefix, nowMs, max,
 * leaseUntilMs, nowIso, leasePrefix, perSubscription, window, then pairs of subscription id
 * and attempts this instance has in flight for it. A due delivery of a subscription at
 * `perSubscription` (counting those taken here) is passed over untouched: it stays due, no
 * attempt counted. At most `window` due members are looked at per call, so a large backlog
 * of capped subscriptions costs a bounded scan. Claimed and removed members leave the due
 * range, so the next chunk starts after the ones passed over.
 * Returns [[member, {hash fields...}, subscriptionJson|false], ...].
 */
export const CLAIM_LUA = `
local prefix = ARGV[1]
local due = KEYS[1]
local max = tonumber(ARGV[3])
local per_sub = tonumber(ARGV[7])
local window = tonumber(ARGV[8])
local held = {}
for i = 9, #ARGV - 1, 2 do held[ARGV[i]] = tonumber(ARGV[i + 1]) end
local chunk = math.max(max, 64)
local out = {}
local passed = 0
local scanned = 0
while #out < max and scanned < window do
  local members = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[2], 'LIMIT', passed, math.min(chunk, window - scanned))
  if #members == 0 then break end
  scanned = scanned + #members
  for _, member in ipairs(members) do
    if #out >= max then break end
    local slash = string.find(member, '/', 1, true)
    local dk = false
    local sub = false
    if slash then
      sub = string.sub(member, 1, slash - 1)
      dk = prefix .. 'wh:d:' .. sub .. ':' .. string.sub(member, slash + 1)
    end
    if not dk or redis.call('EXISTS', dk) == 0 then
      redis.call('ZREM', due, member)
    elseif (held[sub] or 0) >= per_sub then
      passed = passed + 1
    else
      held[sub] = (held[sub] or 0) + 1
      redis.call('ZADD', due, ARGV[4], member)
      redis.call('HINCRBY', dk, 'attempts', 1)
      redis.call('HSET', dk, 'last_at', ARGV[5], 'lease', ARGV[6] .. (#out + 1))
      out[#out + 1] = {member, redis.call('HGETALL', dk), redis.call('HGET', KEYS[2], sub)}
    end
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
