import type { Level } from '../grants/permission.js';
import type { TokenRecord } from '../grants/token-record.js';
import { parseWindow } from '../limits/window.js';
import type { GrantStore } from '../store/grant-store.js';
import { generateToken, generateTokenId, hashToken } from '../tokens/format.js';
import { checkIssuance, InputError, type IssuanceRequest } from './issuance-policy.js';
import { ORGANIZATION_TOKENS_FEATURE } from './org-reach.js';
import { type CreateTokenInput, MAX_TOKEN_LIFETIME_DAYS } from './token-input.js';

export { InputError };

const DAY_MS = 86_400_000;
const ORGANIZATION_TOKENS_LEVELS: readonly Level[] = ['read', 'write'];
/** Classic tokens may omit an expiry; they then get GitHub's default of 30 days. */
const CLASSIC_DEFAULT_DAYS = 30;

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
      ...(input.description === undefined || input.description === ''
        ? {}
        : { description: input.description }),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
      ...(input.allowed_ips === undefined ? {} : { allowedIps: [...new Set(input.allowed_ips)] }),
      ...(input.rate_limit === undefined
        ? {}
        : {
            rateLimit: {
              limit: input.rate_limit.limit,
              windowSeconds: parseWindow(input.rate_limit.window) ?? 3_600,
            },
          }),
    };
    let record: TokenRecord;
    if (input.kind === 'fine_grained') {
      this.#checkPermissions(input.permissions);
      const owner = input.resource_owner.toLowerCase();
      const status = checkIssuance({
        org: owner,
        user: base.user,
        ...(await this.#orgState(owner)),
        from: now,
        expiresAt,
      });
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

  /**
   * A new secret for token `id`. Without an expiry asked for, the new secret gets the
   * token's original lifetime (from creation or the last regenerate to its expiry),
   * shortened to the org's maximum if that is lower now. With `grace_period_minutes`
   * the old secret keeps working that long (`graceUntil` in the answer).
   */
  async regenerate(
    id: string,
    expires: {
      expires_at?: string | undefined;
      expires_in_days?: number | undefined;
      grace_period_minutes?: number | undefined;
    },
  ): Promise<(CreatedToken & { readonly graceUntil: string | null }) | null> {
    const existing = await this.store.getToken(id);
    if (existing === null) return null;
    if (existing.status === 'revoked' || existing.status === 'denied') {
      throw new InputError('id', `token ${id} is ${existing.status} and cannot be regenerated`, 422);
    }
    const now = this.now();
    const expiresAt =
      expires.expires_at === undefined && expires.expires_in_days === undefined
        ? now + (await this.#originalLifetime(existing))
        : resolveExpiry(expires.expires_at, expires.expires_in_days, now, existing.kind === 'classic');
    if (existing.kind === 'fine_grained') {
      // The org's rules as at issuance; approval is not asked again (the status stays).
      // Lifetime counts from now: the store stamps regeneratedAt, and the gateway
      // measures from it.
      checkIssuance({
        org: existing.resourceOwner,
        user: existing.user,
        ...(await this.#orgState(existing.resourceOwner)),
        from: now,
        expiresAt,
      });
    }
    const token = generateToken(existing.kind);
    const graceUntil =
      expires.grace_period_minutes === undefined
        ? null
        : new Date(now + Math.round(expires.grace_period_minutes * 60_000)).toISOString();
    const record = await this.store.replaceTokenSecret(
      id,
      hashToken(token),
      new Date(expiresAt).toISOString(),
      ...(graceUntil === null ? [] : [graceUntil]),
    );
    return record === null ? null : { record, token, graceUntil };
  }

  /** The token's lifetime as issued, within the longest allowed and its org's maximum now. */
  async #originalLifetime(existing: TokenRecord): Promise<number> {
    const from = Date.parse(existing.regeneratedAt ?? existing.createdAt);
    let lifetime = Date.parse(existing.expiresAt) - from;
    if (!(lifetime > 0)) lifetime = CLASSIC_DEFAULT_DAYS * DAY_MS;
    lifetime = Math.min(lifetime, MAX_TOKEN_LIFETIME_DAYS * DAY_MS);
    if (existing.kind === 'fine_grained') {
      const policy = await this.store.getOrgPolicy(existing.resourceOwner);
      const maxDays = policy?.maxLifetimeDays ?? null;
      if (maxDays !== null) lifetime = Math.min(lifetime, maxDays * DAY_MS);
    }
    return lifetime;
  }

  #checkPermissions(permissions: Readonly<Record<string, Level>>): void {
    const catalogue = this.catalogue();
    for (const [feature, level] of Object.entries(permissions)) {
      // organization_tokens governs the admin API itself, so it is always declared.
      // Own keys only: `constructor` or `__proto__` are not features because objects inherit them.
      const levels =
        feature === ORGANIZATION_TOKENS_FEATURE
          ? ORGANIZATION_TOKENS_LEVELS
          : Object.hasOwn(catalogue, feature)
            ? catalogue[feature]
            : undefined;
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

  async #orgState(org: string): Promise<Pick<IssuanceRequest, 'policy' | 'members'>> {
    const [policy, members] = await Promise.all([this.store.getOrgPolicy(org), this.store.getMembers(org)]);
    return { policy, members };
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
