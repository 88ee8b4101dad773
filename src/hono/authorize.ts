import { TOKEN_MALFORMED, TOKEN_MISSING, TOKEN_UNKNOWN, withoutBase } from '../gateway/credential-denials.js';
import { encodedSlashProblem } from '../gateway/encoded-slash.js';
import { NO_ROUTE, type Refusal, STORE_UNAVAILABLE } from '../gateway/refusal.js';
import type { RouteTable } from '../gateway/route-table.js';
import { decide } from '../grants/decide.js';
import type { InstantMemo } from '../grants/instant.js';
import { type RequestResource, resolveResource } from '../grants/resource.js';
import type { TokenRecord } from '../grants/token-record.js';
import { type AllowLists, addressRefusal, allowListsOf, hasAllowList, orgOf } from '../limits/allow-lists.js';
import type { RequestFacts } from '../request/facts.js';
import type { RouteRule } from '../routes/types.js';
import type { GrantCache } from '../store/cached-grant-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import type { GrantSnapshot } from '../store/grant-store.js';
import { hashToken, parseToken } from '../tokens/format.js';

/** What the middleware does with a request: let it through (with its token, on a guarded route), or refuse it. */
export type Verdict =
  | {
      readonly kind: 'allow';
      readonly rule: RouteRule;
      /** Null on a `public: true` route: no token was asked for. */
      readonly token: TokenRecord | null;
      readonly resource: RequestResource | null;
    }
  | { readonly kind: 'refuse'; readonly refusal: Refusal };

export interface AuthorizeInput {
  readonly facts: RequestFacts;
  readonly table: RouteTable;
  /** Stripped before matching (`base_path`); null for none. */
  readonly basePath: string | null;
  readonly cache: GrantCache;
  /** Epoch milliseconds, read when the grants are in hand. */
  readonly now: () => number;
  readonly instants: InstantMemo;
  /** The client's address as the app vouches for it (canonical), for IP allow lists; asked only then. */
  readonly clientAddress: () => string | undefined;
  /** Each cached grant's allow lists, built once. */
  readonly allowLists: WeakMap<GrantSnapshot, AllowLists>;
}

function refuse(refusal: Refusal): Verdict {
  return { kind: 'refuse', refusal };
}

/**
 * The gateway pipeline's steps up to the decision, in its order: route match, encoded `/`,
 * declared body size, credential, checksum, grants (cache, then store), `decide`. Only a store
 * failure is turned into a refusal here (503, never an allow); any other error is the caller's.
 */
export async function authorize(input: AuthorizeInput): Promise<Verdict> {
  const { facts, table } = input;
  const path = input.basePath === null ? facts.path : withoutBase(facts.path, input.basePath);
  const match = path === null ? null : table.matcher.match(facts.method, path);
  if (match === null) return refuse(NO_ROUTE);
  const rule = match.rule;
  if (facts.encodedSlash) {
    const problem = encodedSlashProblem(match);
    if (problem !== null) return refuse({ kind: 'shape', reason: 'bad_request_target', detail: problem });
  }
  if (facts.contentLength > rule.maxBodyBytes) {
    return refuse({
      kind: 'shape',
      reason: 'body_too_large',
      detail: `the body is ${facts.contentLength} bytes; this route accepts at most ${rule.maxBodyBytes}`,
    });
  }
  const requirement = rule.requirement;
  if (requirement.kind === 'public') return { kind: 'allow', rule, token: null, resource: null };

  const credential = facts.credential;
  if (credential.kind === 'none') return refuse(TOKEN_MISSING);
  if (credential.kind === 'invalid') {
    return refuse({ kind: 'deny', reason: 'token_malformed', detail: credential.detail });
  }
  const parsed = parseToken(credential.token);
  if (!parsed.ok) return refuse(TOKEN_MALFORMED);

  const resource = resolveResource(requirement.resource, match.params);
  const tokenHash = hashToken(credential.token);
  const owner = resource.owner ?? '';
  let snapshot = input.cache.peek(tokenHash, parsed.kind, owner);
  if (snapshot === undefined) {
    try {
      snapshot = await input.cache.load(tokenHash, parsed.kind, owner);
    } catch (error) {
      if (error instanceof StoreUnavailableError) return refuse(STORE_UNAVAILABLE);
      throw error;
    }
  }
  if (snapshot === null) return refuse(TOKEN_UNKNOWN);
  const decision = decide({
    snapshot,
    requirement,
    resource,
    implicit: table.implicit,
    hideForbidden: table.hideForbidden,
    now: input.now(),
    instants: input.instants,
  });
  if (decision.kind === 'deny') return refuse(decision);
  // The token's `allowed_ips` and its org's `ip_allow_list`, as on the gateway (src/limits/): a
  // grant restricted to addresses is refused unless the app said who the client is.
  if (hasAllowList(snapshot)) {
    const address = input.clientAddress();
    if (address === undefined) {
      return refuse({
        kind: 'limited',
        reason: 'ip_not_allowed',
        detail: `token ${decision.token.id} may be used only from listed IP addresses, and this app does not say the client's (the clientAddress option of patgate())`,
        tokenId: decision.token.id,
      });
    }
    let lists = input.allowLists.get(snapshot);
    if (lists === undefined) {
      lists = allowListsOf(snapshot, orgOf(snapshot.token, owner));
      input.allowLists.set(snapshot, lists);
    }
    const outside = addressRefusal(lists, decision.token.id, address);
    if (outside !== null) return refuse(outside);
  }
  return { kind: 'allow', rule, token: decision.token, resource };
}
