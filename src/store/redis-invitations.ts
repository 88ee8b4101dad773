import { DEFAULT_ORG_POLICY, type MemberRole } from '../grants/owner.js';
import type { CorruptRecordLog } from './corrupt-record-log.js';
import { StoreConflictError } from './errors.js';
import type { Invitation, InvitationFilter } from './grant-store.js';
import { encodeInvalidation } from './invalidation-hub.js';
import { compareInvitations, isLive } from './invitation-rules.js';
import { CorruptRecordError, decodeInvitationJson, encodeInvitation } from './record-codec.js';
import type { RedisConnection, ScriptCall } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * Writes an invitation and names it in the three indexes, scored by its expiry.
 * KEYS: inv:{org}:{user}, org:{org}:invitations, user:{user}:invitations, invitations.
 * ARGV: json, expireAtMs.
 */
const CREATE_LUA = `
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
for i = 2, 4 do redis.call('ZADD', KEYS[i], ARGV[2], KEYS[1]) end
return 0
`;

/**
 * KEYS: one index. ARGV: nowMs. [key, json, key, json, ...] of every invitation the index
 * names that still exists; entries past their expiry or whose key is gone are dropped on the way.
 */
const LIST_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local json = redis.call('GET', key)
  if json then
    out[#out + 1] = key
    out[#out + 1] = json
  else
    redis.call('ZREM', KEYS[1], key)
  end
end
return out
`;

/**
 * Compare-and-accept: if the invitation is still the one read, removes it and makes
 * the user a member as setMember does (default policy when none, then publish).
 * KEYS: inv, org:{org}:members, org:{org}:policy, org index, user index, invitations.
 * ARGV: json as read, user, role, default policy JSON, channel, message.
 * Returns 1 accepted, 0 changed meanwhile (the caller reads again).
 */
const ACCEPT_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 4, 6 do redis.call('ZREM', KEYS[i], KEYS[1]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'NX')
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
`;

/** KEYS: inv, org index, user index, invitations. Returns 1 deleted, 0 there was none. */
const DELETE_LUA = `
local deleted = redis.call('DEL', KEYS[1])
for i = 2, 4 do redis.call('ZREM', KEYS[i], KEYS[1]) end
return deleted
`;

const CAS_ATTEMPTS = 5;

/** The invitation commands of `RedisGrantStore` (see redis-keys.ts for the layout). */
export class RedisInvitations {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #corrupt: CorruptRecordLog;
  readonly #create: ScriptCall;
  readonly #list: ScriptCall;
  readonly #accept: ScriptCall;
  readonly #delete: ScriptCall;

  constructor(conn: RedisConnection, keys: RedisKeys, corrupt: CorruptRecordLog) {
    this.#conn = conn;
    this.#keys = keys;
    this.#corrupt = corrupt;
    this.#create = conn.defineScript('patgateInvitationCreate', 4, CREATE_LUA);
    this.#list = conn.defineScript('patgateInvitationList', 1, LIST_LUA);
    this.#accept = conn.defineScript('patgateInvitationAccept', 6, ACCEPT_LUA);
    this.#delete = conn.defineScript('patgateInvitationDelete', 4, DELETE_LUA);
  }

  async create(invitation: Invitation): Promise<void> {
    const value = encodeInvitation(invitation);
    const expireAt = Date.parse(value.expiresAt);
    await this.#conn.run(() =>
      this.#create(...this.#indexed(value.org, value.user), JSON.stringify(value), expireAt),
    );
  }

  /** An invitation that does not decode is left out (and reported), as a token is by listTokens. */
  async list(filter: InvitationFilter): Promise<Invitation[]> {
    const org = filter.org?.toLowerCase();
    const user = filter.user?.toLowerCase();
    const now = Date.now();
    const pairs: unknown[] = [];
    if (org !== undefined && user !== undefined) {
      const key = this.#keys.invitation(org, user);
      const json = await this.#conn.run(() => this.#conn.client.get(key));
      if (json !== null) pairs.push(key, json);
    } else {
      const index =
        org !== undefined
          ? this.#keys.orgInvitations(org)
          : user !== undefined
            ? this.#keys.userInvitations(user)
            : this.#keys.invitations;
      const reply = await this.#conn.run(() => this.#list(index, now));
      if (!Array.isArray(reply) || reply.length % 2 !== 0) {
        throw this.#corrupt.fail(
          index,
          new CorruptRecordError('invitation list reply', 'not key/value pairs'),
        );
      }
      pairs.push(...(reply as unknown[]));
    }
    const found: Invitation[] = [];
    for (let i = 0; i < pairs.length; i += 2) {
      const key = String(pairs[i]);
      const invitation = this.#corrupt.skip(key, pairs[i + 1], (json) => this.#read(key, json));
      // Redis expires keys on its own clock; this instance's is the one the contract speaks of.
      if (invitation !== null && isLive(invitation, now)) found.push(invitation);
    }
    return found.sort(compareInvitations);
  }

  async accept(org: string, user: string, now: number): Promise<MemberRole | null> {
    const o = org.toLowerCase();
    const u = user.toLowerCase();
    const key = this.#keys.invitation(o, u);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const json = await this.#conn.run(() => this.#conn.client.get(key));
      if (json === null) return null;
      const invitation = this.#corrupt.decode(key, json, (raw) => this.#read(key, raw));
      if (!isLive(invitation, now)) return null;
      const accepted = await this.#conn.run(() =>
        this.#accept(
          key,
          this.#keys.members(o),
          this.#keys.policy(o),
          this.#keys.orgInvitations(o),
          this.#keys.userInvitations(u),
          this.#keys.invitations,
          json,
          u,
          invitation.role,
          JSON.stringify(DEFAULT_ORG_POLICY),
          this.#keys.channel,
          encodeInvalidation({ kind: 'owner', owner: o }, Date.now()),
        ),
      );
      if (accepted === 1) return invitation.role;
    }
    throw new StoreConflictError(`the invitation of ${u} to ${o} kept changing during the acceptance`);
  }

  async delete(org: string, user: string): Promise<boolean> {
    const o = org.toLowerCase();
    const u = user.toLowerCase();
    const deleted = await this.#conn.run(() => this.#delete(...this.#indexed(o, u)));
    return deleted === 1;
  }

  /**
   * The invitation stored at `key`, which must be its own key: a record under
   * another org's or user's key would make the wrong person a member.
   */
  #read(key: string, json: unknown): Invitation {
    const invitation = decodeInvitationJson(json);
    if (this.#keys.invitation(invitation.org, invitation.user) !== key) {
      throw new CorruptRecordError('invitation', 'org or user differs from its key');
    }
    return invitation;
  }

  /** The invitation key and its three indexes, in the order the scripts take them. */
  #indexed(org: string, user: string): [string, string, string, string] {
    return [
      this.#keys.invitation(org, user),
      this.#keys.orgInvitations(org),
      this.#keys.userInvitations(user),
      this.#keys.invitations,
    ];
  }
}
