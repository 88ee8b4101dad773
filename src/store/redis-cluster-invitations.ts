import { DEFAULT_ORG_POLICY, type MemberRole } from '../grants/owner.js';
import type { CorruptRecordLog } from './corrupt-record-log.js';
import { StoreConflictError } from './errors.js';
import type { Invalidation, Invitation, InvitationFilter } from './grant-store.js';
import { compareInvitations, isLive } from './invitation-rules.js';
import { CorruptRecordError, decodeInvitationJson, encodeInvitation } from './record-codec.js';
import type { RedisClusterConnection } from './redis-cluster-connection.js';
import {
  CLUSTER_INVITATION_ACCEPT_LUA,
  CLUSTER_INVITATION_CREATE_LUA,
  CLUSTER_INVITATION_DELETE_LUA,
} from './redis-cluster-scripts.js';
import type { ScriptCall } from './redis-connection.js';
import type { ClusterKeys } from './redis-keys.js';

const CAS_ATTEMPTS = 5;

/**
 * The invitation commands of `RedisClusterGrantStore`. An invitation and its org's
 * index share the org's slot, so creating, accepting and deleting it is one script
 * there; the user's index and the global one live in other slots and are kept up
 * before (create) or after (accept, delete) that script. They may therefore name
 * an invitation that is gone: listing reads every key they name and drops the dead
 * entries, as it drops expired ones.
 */
export class RedisClusterInvitations {
  readonly #conn: RedisClusterConnection;
  readonly #keys: ClusterKeys;
  readonly #corrupt: CorruptRecordLog;
  readonly #publish: (event: Invalidation) => Promise<void>;
  readonly #create: ScriptCall;
  readonly #accept: ScriptCall;
  readonly #delete: ScriptCall;

  constructor(
    conn: RedisClusterConnection,
    keys: ClusterKeys,
    corrupt: CorruptRecordLog,
    publish: (event: Invalidation) => Promise<void>,
  ) {
    this.#conn = conn;
    this.#keys = keys;
    this.#corrupt = corrupt;
    this.#publish = publish;
    this.#create = conn.defineScript('patgateClusterInvitationCreate', 2, CLUSTER_INVITATION_CREATE_LUA);
    this.#accept = conn.defineScript('patgateClusterInvitationAccept', 4, CLUSTER_INVITATION_ACCEPT_LUA);
    this.#delete = conn.defineScript('patgateClusterInvitationDelete', 2, CLUSTER_INVITATION_DELETE_LUA);
  }

  async create(invitation: Invitation): Promise<void> {
    const value = encodeInvitation(invitation);
    const expireAt = Date.parse(value.expiresAt);
    const key = this.#keys.invitation(value.org, value.user);
    const client = this.#conn.client;
    // Indexed first: an index entry without its invitation is dropped by listing; the reverse would hide it.
    await this.#conn.run(() => client.zadd(this.#keys.userInvitations(value.user), expireAt, key));
    await this.#conn.run(() => client.zadd(this.#keys.invitations, expireAt, key));
    await this.#conn.run(() =>
      this.#create(key, this.#keys.orgInvitations(value.org), JSON.stringify(value), expireAt),
    );
  }

  async list(filter: InvitationFilter): Promise<Invitation[]> {
    const org = filter.org?.toLowerCase();
    const user = filter.user?.toLowerCase();
    const now = Date.now();
    const client = this.#conn.client;
    let keys: string[];
    if (org !== undefined && user !== undefined) {
      keys = [this.#keys.invitation(org, user)];
    } else {
      const index =
        org !== undefined
          ? this.#keys.orgInvitations(org)
          : user !== undefined
            ? this.#keys.userInvitations(user)
            : this.#keys.invitations;
      await this.#conn.run(() => client.zremrangebyscore(index, '-inf', now));
      keys = await this.#conn.run(() => client.zrange(index, 0, -1));
      const values = await Promise.all(keys.map((key) => this.#conn.run(() => client.get(key))));
      const gone = keys.filter((_, i) => values[i] === null);
      if (gone.length > 0) await this.#conn.run(() => client.zrem(index, ...gone));
      return this.#decodeAll(
        keys.flatMap((key, i) => {
          const json = values[i];
          return json === null || json === undefined ? [] : [[key, json] as const];
        }),
        now,
      );
    }
    const values = await Promise.all(keys.map((key) => this.#conn.run(() => client.get(key))));
    return this.#decodeAll(
      keys.flatMap((key, i) => {
        const json = values[i];
        return json === null || json === undefined ? [] : [[key, json] as const];
      }),
      now,
    );
  }

  async accept(org: string, user: string, now: number): Promise<MemberRole | null> {
    const o = org.toLowerCase();
    const u = user.toLowerCase();
    const key = this.#keys.invitation(o, u);
    const client = this.#conn.client;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const json = await this.#conn.run(() => client.get(key));
      if (json === null) return null;
      const invitation = this.#corrupt.decode(key, json, (raw) => this.#read(key, raw));
      if (!isLive(invitation, now)) return null;
      const accepted = await this.#conn.run(() =>
        this.#accept(
          key,
          this.#keys.members(o),
          this.#keys.policy(o),
          this.#keys.orgInvitations(o),
          json,
          u,
          invitation.role,
          JSON.stringify(DEFAULT_ORG_POLICY),
        ),
      );
      if (accepted === 1) {
        await this.#unindex(key, u);
        await this.#publish({ kind: 'owner', owner: o });
        return invitation.role;
      }
    }
    throw new StoreConflictError(`the invitation of ${u} to ${o} kept changing during the acceptance`);
  }

  async delete(org: string, user: string): Promise<boolean> {
    const o = org.toLowerCase();
    const u = user.toLowerCase();
    const key = this.#keys.invitation(o, u);
    const deleted = await this.#conn.run(() => this.#delete(key, this.#keys.orgInvitations(o)));
    await this.#unindex(key, u);
    return deleted === 1;
  }

  async #unindex(key: string, user: string): Promise<void> {
    const client = this.#conn.client;
    await this.#conn.run(() => client.zrem(this.#keys.userInvitations(user), key));
    await this.#conn.run(() => client.zrem(this.#keys.invitations, key));
  }

  #decodeAll(pairs: readonly (readonly [string, string])[], now: number): Invitation[] {
    const found: Invitation[] = [];
    for (const [key, json] of pairs) {
      const invitation = this.#corrupt.skip(key, json, (raw) => this.#read(key, raw));
      if (invitation !== null && isLive(invitation, now)) found.push(invitation);
    }
    return found.sort(compareInvitations);
  }

  /** The invitation stored at `key`, which must be its own key (see RedisInvitations). */
  #read(key: string, json: unknown): Invitation {
    const invitation = decodeInvitationJson(json);
    if (this.#keys.invitation(invitation.org, invitation.user) !== key) {
      throw new CorruptRecordError('invitation', 'org or user differs from its key');
    }
    return invitation;
  }
}
