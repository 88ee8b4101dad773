import type { TokenRecord } from '../grants/token-record.js';
import type { GrantSnapshot } from '../store/grant-store.js';
import { AddressList } from './address-list.js';
import type { LimitRefusal } from './limit-refusal.js';

/** The IP allow lists a grant is held to: the token's `allowed_ips`, then its org's `ip_allow_list`. */
export interface AllowLists {
  readonly tokenList: AddressList | null;
  readonly orgList: AddressList | null;
  /** The org as a refusal names it. */
  readonly orgName: string;
}

/** Whether any allow list applies to this grant: without one, any address is fine. */
export function hasAllowList(snapshot: GrantSnapshot): boolean {
  return snapshot.token.allowedIps !== undefined || snapshot.owner.org?.policy.ipAllowList !== undefined;
}

/**
 * The org a request counts against: a fine-grained token's resource owner, a classic token's
 * `reached` owner (the request's), `''` for none.
 */
export function orgOf(token: TokenRecord, reached: string | null): string {
  return token.kind === 'fine_grained' ? token.resourceOwner : (reached ?? '');
}

/**
 * The lists of a grant. `orgName`: the org the token is for (fine-grained: its resource owner;
 * classic: the org the request reaches, `''` for none).
 */
export function allowListsOf(snapshot: GrantSnapshot, orgName: string): AllowLists {
  const { token, owner } = snapshot;
  const orgPolicyList = owner.org?.policy.ipAllowList;
  return {
    orgList: orgPolicyList === undefined ? null : new AddressList(orgPolicyList),
    orgName: orgName === '' ? 'of this request' : orgName,
    tokenList: token.allowedIps === undefined ? null : new AddressList(token.allowedIps),
  };
}

/** The token's list, then the org's: a client address outside either is refused. */
export function addressRefusal(lists: AllowLists, tokenId: string, address: string): LimitRefusal | null {
  if (lists.tokenList !== null && !lists.tokenList.allows(address)) {
    return ipRefusal(tokenId, `client address ${address} is not among token ${tokenId}'s allowed IPs`);
  }
  if (lists.orgList !== null && !lists.orgList.allows(address)) {
    return ipRefusal(
      tokenId,
      `client address ${address} is not in organization ${lists.orgName}'s IP allow list`,
    );
  }
  return null;
}

export function ipRefusal(tokenId: string, detail: string): LimitRefusal {
  return { kind: 'limited', reason: 'ip_not_allowed', detail, tokenId };
}
