/**
 * The Lua scripts behind `RedisGrantStore`. Each runs atomically on the server, so
 * a reader never sees a half-written token and a write never lands on data that
 * changed since it was read (`update`/`replace` compare before they write).
 *
 * Some keys are derived inside the scripts from the prefix in ARGV (the owner a
 * token points at is only known once its record is read). That is fine on a single
 * Redis or a primary with replicas; it is not Redis Cluster safe.
 */

/**
 * Looks up a batch of tokens (see `TurnBatcher`). KEYS: tok:{hash} each. ARGV: prefix, then the
 * request's owner for each key (a fine-grained token uses its own). One answer per key, in order:
 * false (no such token), 'corrupt' (a record this script cannot read, or a key of the wrong type:
 * that lookup fails, the rest of the batch does not), or
 * [tokenJson, policyJson|false, role|false, orgRegistered 0/1, graceUntil|false]. A key holding
 * `{"graceOf": id, "graceUntil": instant}` (a secret replaced with a grace period) answers
 * for token `id`'s current record, with `graceUntil`.
 *
 * Only what the keys are derived from is read here; the TS codec decodes the whole record.
 * Names are lower-cased before they become keys: a record saying `ACME` must meet acme's
 * policy and members, not an empty `org:ACME:` that would make it an unregistered owner.
 * (Redis's Lua lower-cases ASCII only, as logins are; the codec refuses anything else.)
 */
export const LOOKUP_MANY_LUA = `
local prefix = ARGV[1]
local function lookup(key, asked)
  local json = redis.call('GET', key)
  if not json then return false end
  -- A replaced secret in its grace period: an alias to the token's current record.
  local grace = false
  if string.sub(json, 1, 11) == '{"graceOf":' then
    local okAlias, alias = pcall(cjson.decode, json)
    if not okAlias or type(alias) ~= 'table' or type(alias['graceOf']) ~= 'string'
      or type(alias['graceUntil']) ~= 'string' then
      return 'corrupt'
    end
    local hash = redis.call('GET', prefix .. 'tokid:' .. alias['graceOf'])
    if not hash then return false end
    json = redis.call('GET', prefix .. 'tok:' .. hash)
    if not json then return false end
    grace = alias['graceUntil']
  end
  local ok, rec = pcall(cjson.decode, json)
  local owner = asked
  if ok and type(rec) == 'table' and rec['kind'] == 'fine_grained' then owner = rec['resourceOwner'] end
  if not ok or type(rec) ~= 'table' or type(owner) ~= 'string' or type(rec['user']) ~= 'string' then
    return 'corrupt'
  end
  local base = prefix .. 'org:' .. string.lower(owner)
  local policy = redis.call('GET', base .. ':policy')
  local role = redis.call('HGET', base .. ':members', string.lower(rec['user']))
  local registered = 0
  if policy or redis.call('EXISTS', base .. ':members') == 1 then registered = 1 end
  return {json, policy, role, registered, grace}
end
local out = {}
for i = 1, #KEYS do
  -- A command error (a key of the wrong type) fails this lookup alone, not the batch.
  local ok, entry = pcall(lookup, KEYS[i], ARGV[i + 1])
  if ok then out[i] = entry else out[i] = 'corrupt' end
end
return out
`;

/** KEYS: tokid:{id}. ARGV: prefix. Returns nil or [hash, tokenJson]. */
export const GET_BY_ID_LUA = `
local hash = redis.call('GET', KEYS[1])
if not hash then return false end
local json = redis.call('GET', ARGV[1] .. 'tok:' .. hash)
if not json then return false end
return {hash, json}
`;

/**
 * KEYS: tok:{hash}, tokid:{id}, tokens, expiry. ARGV: tokenJson, hash, id, expireAtMs, then the
 * due instants (ms) of the notices expiring_7d, expiring_1d, expired (the expiry index).
 * Returns 0 created, 1 hash taken, 2 id taken.
 */
export const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3] .. ':expiring_7d', ARGV[6], ARGV[3] .. ':expiring_1d',
  ARGV[7], ARGV[3] .. ':expired')
return 0
`;

/**
 * Compare-and-set of a token record, then publish.
 * KEYS: tokid:{id}, tok:{hash}. ARGV: hash, oldJson, newJson, channel, message.
 * Returns 1 written, 0 changed meanwhile (the caller reads again).
 */
export const UPDATE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'KEEPTTL')
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

/**
 * Moves a record to a new hash, then publishes for the old one. With a grace alias the old
 * key becomes that alias (until ARGV[9]) instead of going; an earlier alias of the token
 * goes at once, and its hash is returned so that the caller can publish for it.
 * The token's expiry notices move to the new expiry in the same step (the expiry index).
 * KEYS: tokid:{id}, tok:{oldHash}, tok:{newHash}, tokgrace:{id}, expiry.
 * ARGV: oldHash, oldJson, newJson, newHash, expireAtMs, channel, message, aliasJson|'', aliasExpireAtMs, prefix,
 * id, then the due instants (ms) of expiring_7d, expiring_1d, expired.
 * Returns [1, previousAliasHash|''] moved, 0 changed meanwhile, -1 new hash taken.
 */
export const REPLACE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('PEXPIREAT', KEYS[3], ARGV[5])
local previous = redis.call('GET', KEYS[4])
if previous then
  redis.call('DEL', ARGV[10] .. 'tok:' .. previous)
  redis.call('DEL', KEYS[4])
else
  previous = ''
end
if ARGV[8] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[8])
  redis.call('PEXPIREAT', KEYS[2], ARGV[9])
  redis.call('SET', KEYS[4], ARGV[1])
  redis.call('PEXPIREAT', KEYS[4], ARGV[9])
end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[5], ARGV[12], ARGV[11] .. ':expiring_7d', ARGV[13], ARGV[11] .. ':expiring_1d',
  ARGV[14], ARGV[11] .. ':expired')
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {1, previous}
`;

/**
 * Settles one expiry notice: removes it only if it is still due at the instant the caller
 * listed (a regenerate moves it), and appends the caller's events to the event stream in the
 * same step, so a notice is announced exactly once across the fleet.
 * KEYS: expiry, events. ARGV: member, dueAtMs, streamMaxLen, eventJson...
 * Returns 1 settled (events written), 0 gone or moved (nothing written).
 */
export const SETTLE_NOTICE_LUA = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 4, #ARGV do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[i])
end
return 1
`;

/**
 * KEYS: tokens, lastused. ARGV: prefix, id... Returns [hash, json, hash, json, ...] of
 * the records still present (the hash names the key, for a report on a corrupt one);
 * ids whose keys expired are forgotten on the way.
 */
export const LIST_LUA = `
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local hash = redis.call('GET', ARGV[1] .. 'tokid:' .. id)
  local json = false
  if hash then json = redis.call('GET', ARGV[1] .. 'tok:' .. hash) end
  if json then
    out[#out + 1] = hash
    out[#out + 1] = json
  else
    redis.call('SREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
return out
`;

/** KEYS: lastused. ARGV: id, instant, id, instant, ... Keeps the later instant per id. */
export const LAST_USED_LUA = `
for i = 1, #ARGV, 2 do
  local previous = redis.call('HGET', KEYS[1], ARGV[i])
  if not previous or previous < ARGV[i + 1] then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 0
`;
