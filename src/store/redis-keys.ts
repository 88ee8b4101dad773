/**
 * Redis key layout (`{p}` is the configured key prefix):
 *
 * | key                          | type   | holds                                                   |
 * | ---------------------------- | ------ | ------------------------------------------------------- |
 * | `{p}tok:{hash}`              | string | JSON `TokenRecord`, keyed by the SHA-256 of the secret  |
 * | `{p}tokid:{id}`              | string | the current hash of token `id`                          |
 * | `{p}tokgrace:{id}`           | string | the replaced hash of `id` still in its grace period     |
 * | `{p}tokens`                  | set    | every token id (admin listing only, never the hot path) |
 * | `{p}lastused`                | hash   | token id -> ISO instant of last use                     |
 * | `{p}org:{org}:policy`        | string | JSON `OrgPolicy`                                        |
 * | `{p}org:{org}:members`       | hash   | user -> `member` / `admin`                              |
 * | `{p}inv:{org}:{user}`        | string | JSON `Invitation`, expiring at its `expiresAt`          |
 * | `{p}org:{org}:invitations`   | zset   | invitation keys of the org, scored by expiry (ms)       |
 * | `{p}user:{user}:invitations` | zset   | invitation keys of the user, scored by expiry (ms)      |
 * | `{p}invitations`             | zset   | every invitation key, scored by expiry (ms)             |
 *
 * Names in keys are lower-cased logins, which hold no `:`, so no two keys collide.
 *
 * `tok:` and `tokid:` keys expire 30 days after the token does (PEXPIREAT), so dead
 * tokens eventually vanish (a lookup then says "unknown") while recently expired
 * ones still answer "expired". An org is registered once it has a policy key (setMember
 * writes the default policy when there is none, so an org never unregisters) or
 * at least one member. The invitation indexes may name keys that have expired;
 * listing drops those entries as it meets them.
 *
 * Invalidations are published on `{p}invalidate`: `t:{hash}:{ms}`, `o:{owner}:{ms}`
 * (see invalidation-hub.ts). Requires Redis >= 6.0 (SET KEEPTTL); a single primary
 * (directly or found through Sentinel), not Redis Cluster: the scripts derive keys
 * from the prefix, which Cluster's slot routing cannot follow, so a server that
 * reports `cluster_enabled:1` is refused.
 */
export class RedisKeys {
  readonly prefix: string;
  readonly tokens: string;
  readonly lastUsed: string;
  readonly invitations: string;
  readonly channel: string;

  constructor(prefix: string) {
    if (typeof prefix !== 'string') throw new TypeError('keyPrefix must be a string');
    this.prefix = prefix;
    this.tokens = `${prefix}tokens`;
    this.lastUsed = `${prefix}lastused`;
    this.invitations = `${prefix}invitations`;
    this.channel = `${prefix}invalidate`;
  }

  token(hash: string): string {
    return `${this.prefix}tok:${hash}`;
  }

  tokenId(id: string): string {
    return `${this.prefix}tokid:${id}`;
  }

  /** The hash a regenerate replaced, while its grace period runs (its `tok:` key is an alias). */
  tokenGrace(id: string): string {
    return `${this.prefix}tokgrace:${id}`;
  }

  policy(org: string): string {
    return `${this.prefix}org:${org}:policy`;
  }

  members(org: string): string {
    return `${this.prefix}org:${org}:members`;
  }

  invitation(org: string, user: string): string {
    return `${this.prefix}inv:${org}:${user}`;
  }

  orgInvitations(org: string): string {
    return `${this.prefix}org:${org}:invitations`;
  }

  userInvitations(user: string): string {
    return `${this.prefix}user:${user}:invitations`;
  }
}
