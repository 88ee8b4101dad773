import type { OrgPolicy } from '../grants/owner.js';
import type { Level } from '../grants/permission.js';
import type { TokenRecord, TokenStatus } from '../grants/token-record.js';
import type { GrantStore } from '../store/grant-store.js';
import { generateToken, generateTokenId, hashToken } from '../tokens/format.js';
import { ORGANIZATION_TOKENS_FEATURE } from './actor.js';
import { type CreateTokenInput, MAX_TOKEN_LIFETIME_DAYS } from './token-input.js';

const DAY_MS = 86_400_000;
const ORGANIZATION_TOKENS_LEVELS: readonly Level[] = ['read', 'write'];
/** Classic tokens may omit an expiry; they then get GitHub's default of 30 days. */
const CLASSIC_DEFAULT_DAYS = 30;

/** A refusal that names the field at fault: answered as 400 or 422 with problem+json. */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly status: 400 | 422 = 400,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

export interface CreatedToken {
  readonly record: TokenRecord;
  /** The plaintext secret: shown in this answer only, never stored. */
  readonly token: string;
}

/**
 * Token issuance: validates a request against the feature catalogue and the
 * target org's policy, then writes the record under the hash of a fresh secret.
 */
export class TokenService {
  constructor(
    private readonly store: GrantStore,
    private readonly catalogue: () => Readonly<Record<string, readonly Level[]>>,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: CreateTokenInput): Promise<CreatedToken> {
    const now = this.now();
    const expiresAt = resolveExpiry(input.expires_at, input.expires_in_days, now, input.kind === 'classic');
    const base = {
      id: generateTokenId(),
      user: input.user.toLowerCase(),
      name: input.name,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
    };
    let record: TokenRecord;
    if (input.kind === 'fine_grained') {
      this.#checkPermissions(input.permissions);
      const owner = input.resource_owner.toLowerCase();
      const policy = await this.store.getOrgPolicy(owner);
      const status = await this.#initialStatus(owner, base.user, policy, expiresAt - now);
      record = {
        ...base,
        kind: 'fine_grained',
        status,
        resourceOwner: owner,
        repositories:
          input.repositories === 'all'
            ? 'all'
            : [...new Set(input.repositories.map((r) => r.toLowerCase()))].sort(),
        permissions: { ...input.permissions },
      };
    } else {
      record = { ...base, kind: 'classic', status: 'active', scopes: [...new Set(input.scopes)] };
    }
    const token = generateToken(record.kind);
    await this.store.createToken(hashToken(token), record);
    return { record, token };
  }

  async regenerate(
    id: string,
    expires: { expires_at?: string | undefined; expires_in_days?: number | undefined },
  ): Promise<CreatedToken | null> {
    const existing = await this.store.getToken(id);
    if (existing === null) return null;
    if (existing.status === 'revoked' || existing.status === 'denied') {
      throw new InputError('id', `token ${id} is ${existing.status} and cannot be regenerated`, 422);
    }
    const now = this.now();
    const expiresAt = resolveExpiry(
      expires.expires_at,
      expires.expires_in_days,
      now,
      existing.kind === 'classic',
    );
    if (existing.kind === 'fine_grained') {
      const policy = await this.store.getOrgPolicy(existing.resourceOwner);
      checkLifetime(policy, existing.resourceOwner, expiresAt - now);
    }
    const token = generateToken(existing.kind);
    const record = await this.store.replaceTokenSecret(
      id,
      hashToken(token),
      new Date(expiresAt).toISOString(),
    );
    return record === null ? null : { record, token };
  }

  #checkPermissions(permissions: Readonly<Record<string, Level>>): void {
    const catalogue = this.catalogue();
    for (const [feature, level] of Object.entries(permissions)) {
      // organization_tokens governs the admin API itself, so it is always declared.
      const levels =
        feature === ORGANIZATION_TOKENS_FEATURE ? ORGANIZATION_TOKENS_LEVELS : catalogue[feature];
      if (levels === undefined) {
        throw new InputError(`permissions.${feature}`, `unknown feature "${feature}"`);
      }
      if (!levels.includes(level)) {
        throw new InputError(
          `permissions.${feature}`,
          `feature "${feature}" has no level "${level}" (declared: ${levels.join(', ')})`,
        );
      }
    }
  }

  async #initialStatus(
    owner: string,
    user: string,
    policy: OrgPolicy | null,
    lifetimeMs: number,
  ): Promise<TokenStatus> {
    if (policy === null) return 'active';
    if (policy.fineGrainedTokens === 'blocked') {
      throw new InputError('resource_owner', `organization ${owner} blocks fine-grained tokens`, 422);
    }
    checkLifetime(policy, owner, lifetimeMs);
    const members = await this.store.getMembers(owner);
    if (members.size > 0 && !members.has(user)) {
      throw new InputError('user', `${user} is not a member of organization ${owner}`, 422);
    }
    return policy.requireApproval ? 'pending' : 'active';
  }
}

function checkLifetime(policy: OrgPolicy | null, owner: string, lifetimeMs: number): void {
  if (policy?.maxLifetimeDays != null && lifetimeMs > policy.maxLifetimeDays * DAY_MS) {
    throw new InputError(
      'expires_at',
      `organization ${owner} allows tokens of at most ${policy.maxLifetimeDays} days (max_lifetime_days)`,
      422,
    );
  }
}

function resolveExpiry(
  expiresAt: string | undefined,
  expiresInDays: number | undefined,
  now: number,
  classic: boolean,
): number {
  if (expiresAt !== undefined && expiresInDays !== undefined) {
    throw new InputError('expires_at', 'give "expires_at" or "expires_in_days", not both');
  }
  if (expiresAt !== undefined) {
    const at = Date.parse(expiresAt);
    if (at <= now) throw new InputError('expires_at', 'must be in the future');
    if (at - now > MAX_TOKEN_LIFETIME_DAYS * DAY_MS) {
      throw new InputError('expires_at', `must be at most ${MAX_TOKEN_LIFETIME_DAYS} days from now`);
    }
    return at;
  }
  if (expiresInDays !== undefined) return now + expiresInDays * DAY_MS;
  if (classic) return now + CLASSIC_DEFAULT_DAYS * DAY_MS;
  throw new InputError('expires_at', 'every fine-grained token needs "expires_at" or "expires_in_days"');
}
