import { Cluster, type RedisOptions } from 'ioredis';
import type { ClusterNode } from './redis-cluster-connection.js';

/** `store.cluster` as every Redis client of a Cluster deployment takes it. */
export interface ClusterSettings {
  /** Seed nodes: any reachable one tells the client the rest. */
  readonly nodes: readonly ClusterNode[];
  /** Credentials and TLS for every node. */
  readonly nodeOptions?: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
}

export interface ClusterClientOptions {
  /** Bound on each command; null for none (a blocking stream read waits on purpose). */
  readonly commandTimeoutMs: number | null;
  /**
   * Queue commands until the cluster is ready (startup, a slot map being refreshed), as a
   * standalone client does by default. False: such a command fails at once.
   */
  readonly offlineQueue: boolean;
  /** Send the commands of one event-loop turn as one pipeline per node (ioredis auto-pipelining). */
  readonly autoPipelining?: boolean;
}

/**
 * An ioredis `Cluster` client for the stores beside the grant store (webhooks, sessions,
 * rate-limit and leak-report counters). It follows a failover within a second (the slot map
 * is refreshed every second and on every MOVED). Connection errors surface on the calls.
 */
export function clusterClient(settings: ClusterSettings, options: ClusterClientOptions): Cluster {
  const client = new Cluster(
    settings.nodes.map(({ host, port }) => ({ host, port })),
    {
      redisOptions: {
        ...settings.nodeOptions,
        ...(options.commandTimeoutMs === null ? {} : { commandTimeout: options.commandTimeoutMs }),
        maxRetriesPerRequest: 0,
      },
      enableOfflineQueue: options.offlineQueue,
      enableAutoPipelining: options.autoPipelining ?? false,
      clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
      slotsRefreshInterval: 1_000,
    },
  );
  client.on('error', () => {});
  client.on('node error', () => {});
  return client;
}
