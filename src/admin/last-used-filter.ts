import { z } from 'zod';
import type { TokenRecord } from '../grants/token-record.js';
import type { GrantStore } from '../store/grant-store.js';

const instant = z.iso.datetime({
  offset: true,
  error: 'expected an ISO 8601 date-time, e.g. 2025-01-31T00:00:00Z',
});

/** GitHub's filters on token listings: `last_used_before`, `last_used_after` (ISO 8601). */
export const lastUsedQueryFields = {
  last_used_before: instant.optional(),
  last_used_after: instant.optional(),
};

export interface LastUsedFilter {
  readonly last_used_before?: string | undefined;
  readonly last_used_after?: string | undefined;
}

/** A token with its last-used instant (null: never used, or not recorded yet). */
export interface TokenWithLastUse {
  readonly record: TokenRecord;
  readonly lastUsedAt: string | null;
}

/**
 * The tokens with their last-used instants, narrowed by the filter: `last_used_before`
 * keeps tokens last used strictly before that instant, `last_used_after` strictly after.
 * A token never used matches neither (it was not used before or after anything).
 * The instants are read back from the store as hostile data: one that is not an
 * instant counts as never used.
 */
export async function withLastUse(
  store: GrantStore,
  tokens: readonly TokenRecord[],
  filter: LastUsedFilter,
): Promise<TokenWithLastUse[]> {
  const before = filter.last_used_before === undefined ? null : Date.parse(filter.last_used_before);
  const after = filter.last_used_after === undefined ? null : Date.parse(filter.last_used_after);
  const read = await Promise.all(tokens.map((t) => store.getLastUsed(t.id)));
  const out: TokenWithLastUse[] = [];
  tokens.forEach((record, i) => {
    const raw = read[i];
    const lastUsedAt = typeof raw === 'string' && instant.safeParse(raw).success ? raw : null;
    if (before !== null || after !== null) {
      if (lastUsedAt === null) return;
      const at = Date.parse(lastUsedAt);
      if (before !== null && !(at < before)) return;
      if (after !== null && !(at > after)) return;
    }
    out.push({ record, lastUsedAt });
  });
  return out;
}
