/**
 * `patgate/hono`: patgate's decision as a Hono middleware (docs/hono-middleware.md), and the
 * stores it reads tokens from.
 */

export type { RequestResource } from '../grants/resource.js';
export type { TokenRecord } from '../grants/token-record.js';
export type { GrantStore } from '../store/grant-store.js';
export { MemoryGrantStore } from '../store/memory-store.js';
export { RedisGrantStore, type RedisGrantStoreOptions } from '../store/redis-store.js';
export { PatgateConfigError, type PatgateConfigInput } from './config.js';
export {
  type PatgateEnv,
  type PatgateIdentity,
  type PatgateMiddleware,
  type PatgateOptions,
  patgate,
} from './middleware.js';
