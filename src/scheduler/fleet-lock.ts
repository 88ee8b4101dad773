import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * A lease that at most one instance of the fleet holds at a time, so that the scheduler's
 * sweeps run once across the fleet, not once per instance. `acquire` takes the lease or
 * renews it for its holder; a holder that dies loses it when the lease runs out.
 */
export interface FleetLock {
  /** True when this instance holds the lease for another `leaseMs` from now. */
  acquire(): Promise<boolean>;
  /** Gives the lease up (shutdown), so that another instance need not wait it out. */
  release(): Promise<void>;
}

/** One process: it always holds the lease (the memory store serves one process only). */
export class ProcessLock implements FleetLock {
  async acquire(): Promise<boolean> {
    return true;
  }

  async release(): Promise<void> {}
}

/** Takes the lease if free, renews it if ours. KEYS: lock. ARGV: holder, leaseMs. 1 held, 0 not. */
const ACQUIRE_LUA = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** Deletes the lease only if it is still ours. KEYS: lock. ARGV: holder. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * The lease in one Redis key (`{p}scheduler:lock`, with PX): compare-and-renew in a script,
 * so that an instance whose lease ran out (a long pause) cannot renew one another took.
 * The holder is a random id per instance. Expiry notices do not rely on the lease: the
 * store settles each exactly once. A revocation for `revoke_unused_after_days` renews the
 * lease just before it, so only a holder paused between that renewal and its write (longer
 * than the lease) could overlap with the next holder on one token.
 */
export class RedisFleetLock implements FleetLock {
  readonly #holder = randomBytes(12).toString('hex');

  constructor(
    private readonly client: Redis | Cluster,
    private readonly key: string,
    private readonly leaseMs: number,
  ) {
    if (!Number.isInteger(leaseMs) || leaseMs <= 0) {
      throw new TypeError(`leaseMs must be a positive integer, got ${leaseMs}`);
    }
  }

  async acquire(): Promise<boolean> {
    const held = await this.client.eval(ACQUIRE_LUA, 1, this.key, this.#holder, String(this.leaseMs));
    return held === 1;
  }

  async release(): Promise<void> {
    await this.client.eval(RELEASE_LUA, 1, this.key, this.#holder);
  }
}
