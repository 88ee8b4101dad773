import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { TokenRecord } from '../grants/token-record.js';

export type AssertionAlgorithm = 'EdDSA' | 'ES256';

export interface AssertionOptions {
  /** Lower-case header name the assertion travels in (in the gateway-owned `x-patgate-` namespace). */
  readonly header: string;
  /** `iss`. */
  readonly issuer: string;
  /** `aud`: the upstream. */
  readonly audience: string;
  readonly ttlSeconds: number;
  /** Signed assertions kept for reuse (one per token). */
  readonly maxCached?: number;
  readonly now?: () => number;
}

/** The signing key and, during a rotation, keys that upstreams must still accept. */
export interface AssertionKeys {
  readonly signing: KeyObject;
  readonly previous: readonly KeyObject[];
}

interface Cached {
  readonly value: string;
  /** Reused until then (ms): a fresh one is signed well before the old one expires. */
  readonly renewAt: number;
}

/**
 * Signs the identity assertion an upstream can verify: a short-lived JWT (RFC 7519) with the
 * token's holder, id, owner, repositories and permissions, EdDSA (Ed25519) or ES256 (P-256).
 *
 * Signed with node:crypto, synchronously: an assertion is needed on the gateway's synchronous
 * cache-hit path, and jose signs only asynchronously. jose builds the published keys (JWK and
 * RFC 7638 thumbprint `kid`) and verifies in the tests. One assertion per token is cached and
 * reused until three quarters of its lifetime have passed, so signing costs once per token per
 * `ttl_seconds * 3/4`, not once per request.
 */
export class AssertionSigner {
  readonly header: string;
  readonly #key: KeyObject;
  readonly #alg: AssertionAlgorithm;
  readonly #options: AssertionOptions;
  readonly #now: () => number;
  readonly #cache: LRUCache<string, Cached>;
  readonly #encodedHeader: string;

  private constructor(key: KeyObject, alg: AssertionAlgorithm, kid: string, options: AssertionOptions) {
    this.header = options.header;
    this.#key = key;
    this.#alg = alg;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#cache = new LRUCache({ max: options.maxCached ?? 10_000 });
    this.#encodedHeader = base64url(JSON.stringify({ alg, typ: 'JWT', kid }));
  }

  static async create(keys: AssertionKeys, options: AssertionOptions): Promise<AssertionSigner> {
    const alg = algorithmOf(keys.signing);
    const jwk = await publicJwk(keys.signing);
    return new AssertionSigner(keys.signing, alg, jwk.kid as string, options);
  }

  /**
   * The assertion for `token`, signed now or reused. Only a token the gateway has just allowed
   * asks, so a revoked one never gets its cached assertion again; the key holds the expiry,
   * which a regeneration changes.
   */
  assertionFor(token: TokenRecord): string {
    const now = this.#now();
    const key = `${token.id} ${token.expiresAt}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.renewAt > now) return cached.value;
    const value = this.#sign(token, now);
    this.#cache.set(key, { value, renewAt: now + (this.#options.ttlSeconds * 1000 * 3) / 4 });
    return value;
  }

  #sign(token: TokenRecord, now: number): string {
    const iat = Math.floor(now / 1000);
    // The assertion never outlives the token.
    const exp = Math.min(iat + this.#options.ttlSeconds, Math.floor(Date.parse(token.expiresAt) / 1000));
    const claims: Record<string, unknown> = {
      iss: this.#options.issuer,
      aud: this.#options.audience,
      sub: token.user,
      iat,
      exp,
      token_id: token.id,
      token_kind: token.kind,
    };
    if (token.kind === 'fine_grained') {
      claims.owner = token.resourceOwner;
      claims.repositories = token.repositories;
      claims.permissions = token.permissions;
    } else {
      claims.scopes = token.scopes;
    }
    const input = `${this.#encodedHeader}.${base64url(JSON.stringify(claims))}`;
    const signature =
      this.#alg === 'EdDSA'
        ? sign(null, Buffer.from(input), this.#key)
        : sign('sha256', Buffer.from(input), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** EdDSA for an Ed25519 key, ES256 for a P-256 key; anything else is refused at startup. */
export function algorithmOf(key: KeyObject): AssertionAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new RangeError('the assertion key must be Ed25519 or P-256 (ECDSA prime256v1)');
}

/** The public half as a JWK with its RFC 7638 thumbprint as `kid`, `use: sig` and `alg`. */
export async function publicJwk(key: KeyObject): Promise<JWK> {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = await exportJWK(publicKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg: algorithmOf(publicKey) };
}

/** The JWKS document for `/.well-known/jwks.json`: the signing key first, then the previous ones. */
export async function jwksOf(keys: AssertionKeys): Promise<{ keys: JWK[] }> {
  return { keys: await Promise.all([keys.signing, ...keys.previous].map(publicJwk)) };
}

/** A PEM key: the signing key must be private; previous keys may be either half. */
export function parseKey(pem: string | Buffer, kind: 'private' | 'any'): KeyObject {
  if (kind === 'private') return createPrivateKey(pem);
  try {
    return createPrivateKey(pem);
  } catch {
    return createPublicKey(pem);
  }
}
