import { Cluster, Redis } from 'ioredis';
import type { TokenRecord } from '../grants/token-record.js';
import {
  CorruptRecordError,
  decodeInvitationJson,
  decodeMembers,
  decodePolicyJson,
  decodeTokenJson,
} from '../store/record-codec.js';
import { tokenHome } from '../store/redis-cluster-store.js';
import { ClusterKeys, RedisKeys } from '../store/redis-keys.js';

/**
 * `patgate store migrate --from URL --to URL`: copies a store between the standalone
 * layout (`redis://`, `rediss://`) and the Cluster layout (`redis+cluster://host:port,...`,
 * `rediss+cluster://` with TLS; credentials as in a redis URL). Every record is
 * decoded on the way (one that does not is skipped and counted, never copied), keys
 * keep their remaining time to live, and the audit stream's entries keep their ids.
 * Idempotent: records are written over with the same values and audit entries the
 * target already has are not appended again, so a second run copies what changed.
 * Run it with the gateways stopped, or run it again after the last one stopped.
 */

export type StoreLocation =
  | { readonly layout: 'standalone'; readonly url: string }
  | {
      readonly layout: 'cluster';
      readonly nodes: readonly { host: string; port: number }[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

export function parseStoreUrl(text: string): StoreLocation {
  const match = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/.exec(text);
  if (match === null) {
    if (/^rediss?:\/\/[^,]*$/.test(text)) return { layout: 'standalone', url: text };
    throw new Error(`not a store URL: expected redis://host:port or redis+cluster://host:port,host:port`);
  }
  const [, scheme, credentials, hosts = ''] = match;
  const nodes = hosts.split(',').map((address) => {
    const colon = address.lastIndexOf(':');
    const port = Number(address.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`not host:port in the cluster URL: ${address}`);
    }
    return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
  });
  const [user = '', password] = (credentials ?? '').split(':').map(decodeURIComponent);
  return {
    layout: 'cluster',
    nodes,
    ...(user === '' ? {} : { username: user }),
    ...(password === undefined || password === '' ? {} : { password }),
    tls: scheme === 'rediss',
  };
}

interface TokenEntry {
  readonly id: string;
  readonly hash: string;
  readonly record: TokenRecord;
  readonly json: string;
  readonly expireAt: number;
  readonly alias: { readonly hash: string; readonly json: string; readonly expireAt: number } | null;
}

interface OrgEntry {
  readonly org: string;
  readonly policy: string | null;
  readonly members: Record<string, string>;
}

interface InvitationEntry {
  readonly org: string;
  readonly user: string;
  readonly json: string;
  readonly expireAt: number;
}

export interface StoreDump {
  readonly tokens: TokenEntry[];
  lastUsed: Record<string, string>;
  readonly orgs: OrgEntry[];
  readonly invitations: InvitationEntry[];
  readonly expiry: [string, string][];
  audit: [string, string[]][];
  skipped: number;
}

export interface MigrateCounts {
  readonly tokens: number;
  readonly graceAliases: number;
  readonly orgs: number;
  readonly members: number;
  readonly invitations: number;
  readonly lastUsed: number;
  readonly expiryNotices: number;
  readonly auditEntries: number;
  /** Audit entries the target did not have yet (what a run appends). */
  readonly newAuditEntries: number;
  /** Records that did not decode: reported, not copied. */
  readonly skipped: number;
}

type Client = Redis | Cluster;

/** One side of the copy: its client and its layout's key names. */
class Side {
  readonly client: Client;
  readonly standalone: RedisKeys | null;
  readonly cluster: ClusterKeys | null;

  constructor(
    location: StoreLocation,
    readonly prefix: string,
  ) {
    if (location.layout === 'standalone') {
      this.client = new Redis(location.url, { maxRetriesPerRequest: 1, lazyConnect: true });
      this.standalone = new RedisKeys(prefix);
      this.cluster = null;
    } else {
      this.client = new Cluster(
        location.nodes.map(({ host, port }) => ({ host, port })),
        {
          lazyConnect: true,
          redisOptions: {
            ...(location.username === undefined ? {} : { username: location.username }),
            ...(location.password === undefined ? {} : { password: location.password }),
            ...(location.tls ? { tls: {} } : {}),
          },
        },
      );
      this.standalone = null;
      this.cluster = new ClusterKeys(prefix);
    }
    this.client.on('error', () => {});
  }

  get auditKey(): string {
    return this.cluster ? `${this.cluster.sidePrefix()}audit` : `${this.prefix}audit`;
  }

  get expiryKey(): string {
    return this.cluster ? this.cluster.expiryNotices : `${this.prefix}expiry`;
  }

  get lastUsedKey(): string {
    return this.cluster ? this.cluster.lastUsed : `${this.prefix}lastused`;
  }

  /** Every key matching `pattern`, on every primary of a cluster. */
  async scan(pattern: string): Promise<string[]> {
    const clients = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const found: string[] = [];
    for (const client of clients) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
    }
    return found;
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

/** Remaining life of a key as an absolute deadline (ms); a key without one gets none (0). */
async function deadlineOf(client: Client, key: string): Promise<number> {
  const ttl = await client.pttl(key);
  return ttl > 0 ? Date.now() + ttl : 0;
}

function decodes(decode: (raw: unknown) => unknown, raw: unknown): boolean {
  try {
    decode(raw);
    return true;
  } catch (err) {
    if (err instanceof CorruptRecordError) return false;
    throw err;
  }
}

export async function readStore(side: Side): Promise<StoreDump> {
  const { client } = side;
  const dump: StoreDump = {
    tokens: [],
    lastUsed: {},
    orgs: [],
    invitations: [],
    expiry: [],
    audit: [],
    skipped: 0,
  };
  const tokensKey = side.cluster ? side.cluster.tokens : `${side.prefix}tokens`;
  for (const id of await client.smembers(tokensKey)) {
    let home: string | null = null;
    if (side.cluster) {
      home = await client.get(side.cluster.idHome(id));
      if (home === null) continue;
    }
    const keyOf = {
      tokenId: () => (side.cluster && home ? side.cluster.tokenId(home, id) : `${side.prefix}tokid:${id}`),
      token: (hash: string) =>
        side.cluster && home ? side.cluster.token(home, hash) : `${side.prefix}tok:${hash}`,
      grace: () =>
        side.cluster && home ? side.cluster.tokenGrace(home, id) : `${side.prefix}tokgrace:${id}`,
    };
    const hash = await client.get(keyOf.tokenId());
    if (hash === null) continue;
    const json = await client.get(keyOf.token(hash));
    if (json === null) continue;
    let record: TokenRecord;
    try {
      record = decodeTokenJson(json);
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      dump.skipped++;
      continue;
    }
    if (record.id !== id || (home !== null && tokenHome(record) !== home)) {
      dump.skipped++;
      continue;
    }
    const graceHash = await client.get(keyOf.grace());
    const aliasJson = graceHash === null ? null : await client.get(keyOf.token(graceHash));
    dump.tokens.push({
      id,
      hash,
      record,
      json,
      expireAt: await deadlineOf(client, keyOf.token(hash)),
      alias:
        graceHash === null || aliasJson === null
          ? null
          : { hash: graceHash, json: aliasJson, expireAt: await deadlineOf(client, keyOf.token(graceHash)) },
    });
  }
  dump.lastUsed = (await client.hgetall(side.lastUsedKey)) as Record<string, string>;

  const orgPattern = side.cluster ? `${side.prefix}{*}:` : `${side.prefix}org:*:`;
  const orgOf = (key: string, suffix: string): string =>
    side.cluster
      ? key.slice(side.prefix.length + 1, key.length - suffix.length - 2)
      : key.slice(side.prefix.length + 4, key.length - suffix.length - 1);
  const orgs = new Set<string>();
  for (const suffix of ['policy', 'members']) {
    for (const key of await side.scan(`${orgPattern}${suffix}`)) {
      const org = orgOf(key, suffix);
      // Only a login names an org; anything else under the pattern is not ours.
      if (/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$/.test(org)) orgs.add(org);
    }
  }
  for (const org of [...orgs].sort()) {
    const policyKey = side.cluster ? side.cluster.policy(org) : `${side.prefix}org:${org}:policy`;
    const membersKey = side.cluster ? side.cluster.members(org) : `${side.prefix}org:${org}:members`;
    const policy = await client.get(policyKey);
    const members = (await client.hgetall(membersKey)) as Record<string, string>;
    if ((policy !== null && !decodes(decodePolicyJson, policy)) || !decodes(decodeMembers, members)) {
      dump.skipped++;
      continue;
    }
    dump.orgs.push({ org, policy, members });
  }

  const invitationsKey = side.cluster ? side.cluster.invitations : `${side.prefix}invitations`;
  const indexed = await client.zrange(invitationsKey, 0, -1);
  for (const key of indexed) {
    const json = await client.get(key);
    if (json === null) continue;
    try {
      const invitation = decodeInvitationJson(json);
      dump.invitations.push({
        org: invitation.org,
        user: invitation.user,
        json,
        expireAt: Date.parse(invitation.expiresAt),
      });
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      dump.skipped++;
    }
  }

  const expiry = await client.zrange(side.expiryKey, 0, -1, 'WITHSCORES');
  for (let i = 0; i + 1 < expiry.length; i += 2) dump.expiry.push([String(expiry[i + 1]), String(expiry[i])]);
  dump.audit = (await client.xrange(side.auditKey, '-', '+')) as [string, string[]][];
  return dump;
}

/** Writes `dump` in `side`'s layout; with `dryRun`, only counts. */
export async function writeStore(side: Side, dump: StoreDump, dryRun: boolean): Promise<MigrateCounts> {
  const { client } = side;
  const lastAudit = (await client.xrevrange(side.auditKey, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const newAudit = dump.audit.filter(([id]) => compareStreamIds(id, lastAudit) > 0);
  const counts: MigrateCounts = {
    tokens: dump.tokens.length,
    graceAliases: dump.tokens.filter((t) => t.alias !== null).length,
    orgs: dump.orgs.length,
    members: dump.orgs.reduce((n, o) => n + Object.keys(o.members).length, 0),
    invitations: dump.invitations.length,
    lastUsed: Object.keys(dump.lastUsed).length,
    expiryNotices: dump.expiry.length,
    auditEntries: dump.audit.length,
    newAuditEntries: newAudit.length,
    skipped: dump.skipped,
  };
  if (dryRun) return counts;

  const setExpiring = async (key: string, value: string, expireAt: number): Promise<void> => {
    if (expireAt > 0) await client.set(key, value, 'PXAT', expireAt);
    else await client.set(key, value);
  };
  for (const org of dump.orgs) {
    const policyKey = side.cluster ? side.cluster.policy(org.org) : `${side.prefix}org:${org.org}:policy`;
    const membersKey = side.cluster ? side.cluster.members(org.org) : `${side.prefix}org:${org.org}:members`;
    if (org.policy !== null) await client.set(policyKey, org.policy);
    if (Object.keys(org.members).length > 0) await client.hset(membersKey, org.members);
  }
  for (const token of dump.tokens) {
    const home = tokenHome(token.record);
    const keys = side.cluster
      ? {
          token: (hash: string) => side.cluster?.token(home, hash) ?? '',
          tokenId: side.cluster.tokenId(home, token.id),
          grace: side.cluster.tokenGrace(home, token.id),
        }
      : {
          token: (hash: string) => `${side.prefix}tok:${hash}`,
          tokenId: `${side.prefix}tokid:${token.id}`,
          grace: `${side.prefix}tokgrace:${token.id}`,
        };
    // Pointers before records, as the Cluster store writes them.
    if (side.cluster) {
      await setExpiring(side.cluster.hashHome(token.hash), home, token.expireAt);
      await setExpiring(side.cluster.idHome(token.id), home, token.expireAt);
      if (token.alias) await setExpiring(side.cluster.hashHome(token.alias.hash), home, token.alias.expireAt);
    }
    await client.sadd(side.cluster ? side.cluster.tokens : `${side.prefix}tokens`, token.id);
    if (token.alias) {
      await setExpiring(keys.token(token.alias.hash), token.alias.json, token.alias.expireAt);
      await setExpiring(keys.grace, token.alias.hash, token.alias.expireAt);
    }
    await setExpiring(keys.token(token.hash), token.json, token.expireAt);
    await setExpiring(keys.tokenId, token.hash, token.expireAt);
  }
  if (counts.lastUsed > 0) await client.hset(side.lastUsedKey, dump.lastUsed);
  for (const inv of dump.invitations) {
    const key = side.cluster
      ? side.cluster.invitation(inv.org, inv.user)
      : `${side.prefix}inv:${inv.org}:${inv.user}`;
    const orgIndex = side.cluster
      ? side.cluster.orgInvitations(inv.org)
      : `${side.prefix}org:${inv.org}:invitations`;
    const userIndex = side.cluster
      ? side.cluster.userInvitations(inv.user)
      : `${side.prefix}user:${inv.user}:invitations`;
    const all = side.cluster ? side.cluster.invitations : `${side.prefix}invitations`;
    for (const index of [userIndex, all, orgIndex]) await client.zadd(index, inv.expireAt, key);
    await setExpiring(key, inv.json, inv.expireAt);
  }
  for (const [score, member] of dump.expiry) await client.zadd(side.expiryKey, score, member);
  for (const [id, fields] of newAudit) await client.xadd(side.auditKey, id, ...fields);
  return counts;
}

function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map((part) => BigInt(part));
  const [bm = 0n, bs = 0n] = b.split('-').map((part) => BigInt(part));
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

export interface MigrateOptions {
  readonly from: string;
  readonly to: string;
  readonly keyPrefix: string;
  readonly dryRun: boolean;
}

export async function migrateStore(options: MigrateOptions): Promise<MigrateCounts> {
  const from = parseStoreUrl(options.from);
  const to = parseStoreUrl(options.to);
  if (from.layout === to.layout && options.from === options.to) {
    throw new Error('--from and --to name the same store');
  }
  const source = new Side(from, options.keyPrefix);
  const target = new Side(to, options.keyPrefix);
  try {
    await Promise.all([source.client.connect(), target.client.connect()]);
    const dump = await readStore(source);
    return await writeStore(target, dump, options.dryRun);
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}
