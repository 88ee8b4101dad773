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
 * | `{p}expiry`                  | zset   | `{id}:{notice}` -> when the expiry notice is due (ms)   |
 * | `{p}scheduler:lock`          | string | the scheduler lease's holder, expiring with the lease   |
 * | `{p}rl:{subject}:{start}`    | string | points counted in one rate-limit window (src/limits/)   |
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
 * (directly or found through Sentinel). The scripts derive keys from the prefix,
 * which Cluster's slot routing cannot follow, so a server that reports
 * `cluster_enabled:1` is refused here: a Cluster uses `ClusterKeys` below (and
 * `patgate store migrate` copies between the two layouts).
 */
export class RedisKeys {
  readonly prefix: string;
  readonly tokens: string;
  readonly lastUsed: string;
  readonly invitations: string;
  readonly channel: string;
  /** zset: `{id}:{kind}` -> when that expiry notice is due (ms); see ExpiryNotice. */
  readonly expiryNotices: string;
  /** string: the instance holding the fleet-wide scheduler's lease (src/scheduler/). */
  readonly schedulerLock: string;

  constructor(prefix: string) {
    if (typeof prefix !== 'string') throw new TypeError('keyPrefix must be a string');
    this.prefix = prefix;
    this.tokens = `${prefix}tokens`;
    this.lastUsed = `${prefix}lastused`;
    this.invitations = `${prefix}invitations`;
    this.channel = `${prefix}invalidate`;
    this.expiryNotices = `${prefix}expiry`;
    this.schedulerLock = `${prefix}scheduler:lock`;
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

  /** The shared count of one rate-limit budget (`u:{user}:{window s}`, ...) in the window starting at `start` (ms). */
  rateLimit(subject: string, start: number): string {
    return `${this.prefix}rl:${subject}:${start}`;
  }
}

/**
 * The Redis Cluster layout (`store.cluster`; `{p}` is the key prefix, `{L}` a literal
 * hash tag around a lower-cased login). Everything one decision needs shares the hash
 * slot of the owner the request reaches, which the route names before the lookup:
 *
 * | key                       | type   | holds                                                      |
 * | ------------------------- | ------ | ---------------------------------------------------------- |
 * | `{p}{L}:tok:{hash}`       | string | JSON `TokenRecord` (or a grace alias) of a token homed at L |
 * | `{p}{L}:tokid:{id}`       | string | the current hash of token `id`, homed at L                 |
 * | `{p}{L}:tokgrace:{id}`    | string | the replaced hash of `id` still in its grace period        |
 * | `{p}{L}:policy`           | string | JSON `OrgPolicy` of L                                      |
 * | `{p}{L}:members`          | hash   | user -> `member` / `admin`                                 |
 * | `{p}{L}:inv:{user}`       | string | JSON `Invitation` of `user` to org L                       |
 * | `{p}{L}:invitations`      | zset   | invitation keys of org L, scored by expiry (ms)            |
 * | `{p}{L}:invited`          | zset   | invitation keys of user L, scored by expiry (ms)           |
 * | `{p}home:{hash}`          | string | L, the home of the token with that hash (slot of its own)  |
 * | `{p}idhome:{id}`          | string | L, the home of token `id` (slot of its own)                |
 * | `{p}tokens`               | set    | every token id (admin listing only)                        |
 * | `{p}lastused`             | hash   | token id -> ISO instant of last use                        |
 * | `{p}invitations`          | zset   | every invitation key, scored by expiry (ms)                |
 * | `{p}{_side}:expiry`       | zset   | `{id}:{notice}` -> when the expiry notice is due (ms)      |
 * | `{p}{_side}:...`          |        | audit log, event stream, webhooks (one slot: webhook-scripts.ts) |
 * | `{p}session:`, `{p}rl:`...|        | sessions, rate-limit and leak-report counters, scheduler lease: |
 * |                           |        | one key per command, named as on one Redis, own slots      |
 *
 * A token's home is its resource owner (fine-grained) or its user (classic): all of a
 * token's keys, including a replaced secret in its grace period, live in that one
 * slot, so every write to a token is one script. The `home:` pointers are written
 * before the record and outlive it by nothing (same deadline), so a reader that
 * follows one to a missing record reads "unknown". Invalidations go on the sharded
 * channel `{p}invalidate` (SPUBLISH), after the write they describe.
 *
 * Keys added for other features: per-owner data through `ownerKey` (it then shares
 * the owner's slot), anything else through `sharedKey` (a slot of its own).
 */
export class ClusterKeys {
  readonly prefix: string;
  readonly tokens: string;
  readonly lastUsed: string;
  readonly invitations: string;
  readonly channel: string;
  /** zset: `{id}:{kind}` -> when that expiry notice is due (ms); beside the event stream it settles into. */
  readonly expiryNotices: string;

  constructor(prefix: string) {
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new TypeError('keyPrefix must be a string without { or }');
    }
    this.prefix = prefix;
    this.tokens = this.sharedKey('tokens');
    this.lastUsed = this.sharedKey('lastused');
    this.invitations = this.sharedKey('invitations');
    this.channel = this.sharedKey('invalidate');
    this.expiryNotices = `${this.sidePrefix()}expiry`;
  }

  /** The common start of every key homed at `login`: the prefix and the login's hash tag. */
  home(login: string): string {
    return `${this.prefix}{${login}}:`;
  }

  /** A key in `login`'s hash slot. */
  ownerKey(login: string, name: string): string {
    return `${this.home(login)}${name}`;
  }

  /** A key outside every owner's slot. */
  sharedKey(name: string): string {
    return `${this.prefix}${name}`;
  }

  token(home: string, hash: string): string {
    return this.ownerKey(home, `tok:${hash}`);
  }

  tokenId(home: string, id: string): string {
    return this.ownerKey(home, `tokid:${id}`);
  }

  tokenGrace(home: string, id: string): string {
    return this.ownerKey(home, `tokgrace:${id}`);
  }

  hashHome(hash: string): string {
    return this.sharedKey(`home:${hash}`);
  }

  idHome(id: string): string {
    return this.sharedKey(`idhome:${id}`);
  }

  policy(org: string): string {
    return this.ownerKey(org, 'policy');
  }

  members(org: string): string {
    return this.ownerKey(org, 'members');
  }

  invitation(org: string, user: string): string {
    return this.ownerKey(org, `inv:${user}`);
  }

  orgInvitations(org: string): string {
    return this.ownerKey(org, 'invitations');
  }

  userInvitations(user: string): string {
    return this.ownerKey(user, 'invited');
  }

  /** Audit log, webhook events and webhook state: one hash tag of their own, so their MULTIs and scripts stay in one slot. */
  sidePrefix(): string {
    return `${this.prefix}{_side}:`;
  }
}
