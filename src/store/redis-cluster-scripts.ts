/**
 * The Lua scripts behind `RedisClusterGrantStore` (layout: `ClusterKeys` in
 * redis-keys.ts). Every key a script touches hashes to the slot of its first key:
 * the declared keys share one hash tag, and the keys a script derives (a grace
 * alias's current record) are built from ARGV's home prefix, which carries the same
 * tag. Publishing is not here: the store SPUBLISHes after the script (the sharded
 * channel lives in another slot).
 */

/**
 * Looks up one token in its home slot. KEYS: {L}:tok:{hash}, {L}:policy, {L}:members.
 * ARGV: home prefix `{p}{L}:`, L, the owner the request reaches ('' for none).
 * Answers false (no such key), 'corrupt', or
 * [tokenJson, policyJson|false, role|false, registered 0/1, graceUntil|false, stateIncluded 0/1]:
 * a fine-grained token's owner is L, so its state is always included; a classic
 * token's only when the request reaches its own user (L); otherwise the caller reads
 * the asked owner's state in that owner's slot (OWNER_STATE_LUA).
 * A record whose owner (fine-grained) or user (classic) is not L sits outside its
 * home and is corrupt.
 */
export const CLUSTER_LOOKUP_LUA = `
local home = ARGV[1]
local login = ARGV[2]
local asked = ARGV[3]
local function lookup()
  local json = redis.call('GET', KEYS[1])
  if not json then return false end
  local grace = false
  if string.sub(json, 1, 11) == '{"graceOf":' then
    local okAlias, alias = pcall(cjson.decode, json)
    if not okAlias or type(alias) ~= 'table' or type(alias['graceOf']) ~= 'string'
      or type(alias['graceUntil']) ~= 'string' then
      return 'corrupt'
    end
    local hash = redis.call('GET', home .. 'tokid:' .. alias['graceOf'])
    if not hash then return false end
    json = redis.call('GET', home .. 'tok:' .. hash)
    if not json then return false end
    grace = alias['graceUntil']
  end
  local ok, rec = pcall(cjson.decode, json)
  if not ok or type(rec) ~= 'table' or type(rec['user']) ~= 'string' then return 'corrupt' end
  local user = string.lower(rec['user'])
  if rec['kind'] == 'fine_grained' then
    if type(rec['resourceOwner']) ~= 'string' or string.lower(rec['resourceOwner']) ~= login then
      return 'corrupt'
    end
  else
    if user ~= login then return 'corrupt' end
    if asked ~= login then return {json, false, false, 0, grace, 0} end
  end
  local policy = redis.call('GET', KEYS[2])
  local role = redis.call('HGET', KEYS[3], user)
  local registered = 0
  if policy or redis.call('EXISTS', KEYS[3]) == 1 then registered = 1 end
  return {json, policy, role, registered, grace, 1}
end
-- A command error (a key of the wrong type) is a corrupt record, not a failed call.
local ok, entry = pcall(lookup)
if ok then return entry end
return 'corrupt'
`;

/** KEYS: {O}:policy, {O}:members. ARGV: user. Returns [policyJson|false, role|false, registered 0/1] or 'corrupt'. */
export const OWNER_STATE_LUA = `
local ok, entry = pcall(function()
  local policy = redis.call('GET', KEYS[1])
  local role = redis.call('HGET', KEYS[2], ARGV[1])
  local registered = 0
  if policy or redis.call('EXISTS', KEYS[2]) == 1 then registered = 1 end
  return {policy, role, registered}
end)
if ok then return entry end
return 'corrupt'
`;

/** KEYS: {L}:tokid:{id}. ARGV: home prefix. Returns nil or [hash, tokenJson]. */
export const CLUSTER_GET_BY_ID_LUA = `
local hash = redis.call('GET', KEYS[1])
if not hash then return false end
local json = redis.call('GET', ARGV[1] .. 'tok:' .. hash)
if not json then return false end
return {hash, json}
`;

/**
 * KEYS: {L}:tok:{hash}, {L}:tokid:{id}. ARGV: tokenJson, hash, expireAtMs.
 * Returns 0 created, 1 hash taken, 2 id taken.
 */
export const CLUSTER_CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
return 0
`;

/**
 * Compare-and-set of a token record. KEYS: {L}:tokid:{id}, {L}:tok:{hash}.
 * ARGV: hash, oldJson, newJson. Returns 1 written, 0 changed meanwhile.
 */
export const CLUSTER_UPDATE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'KEEPTTL')
return 1
`;

/**
 * Moves a record to a new hash in its home slot, as REPLACE_LUA does on one Redis.
 * KEYS: {L}:tokid:{id}, {L}:tok:{oldHash}, {L}:tok:{newHash}, {L}:tokgrace:{id}.
 * ARGV: oldHash, oldJson, newJson, newHash, expireAtMs, aliasJson|'', aliasExpireAtMs, home prefix.
 * Returns [1, previousAliasHash|''] moved, 0 changed meanwhile, -1 new hash taken.
 */
export const CLUSTER_REPLACE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('PEXPIREAT', KEYS[3], ARGV[5])
local previous = redis.call('GET', KEYS[4])
if previous then
  redis.call('DEL', ARGV[8] .. 'tok:' .. previous)
  redis.call('DEL', KEYS[4])
else
  previous = ''
end
if ARGV[6] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[6])
  redis.call('PEXPIREAT', KEYS[2], ARGV[7])
  redis.call('SET', KEYS[4], ARGV[1])
  redis.call('PEXPIREAT', KEYS[4], ARGV[7])
end
redis.call('SET', KEYS[1], ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return {1, previous}
`;

/** KEYS: {org}:inv:{user}, {org}:invitations. ARGV: json, expireAtMs. */
export const CLUSTER_INVITATION_CREATE_LUA = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
return 0
`;

/**
 * Compare-and-accept in the org's slot. KEYS: {org}:inv:{user}, {org}:members, {org}:policy,
 * {org}:invitations. ARGV: json as read, user, role, default policy JSON.
 * Returns 1 accepted, 0 changed meanwhile.
 */
export const CLUSTER_INVITATION_ACCEPT_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[4], KEYS[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'NX')
return 1
`;

/** KEYS: {org}:inv:{user}, {org}:invitations. Returns 1 deleted, 0 there was none. */
export const CLUSTER_INVITATION_DELETE_LUA = `
local deleted = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return deleted
`;
