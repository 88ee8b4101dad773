import { BlockList, isIPv4 } from 'node:net';
import { parseCidr } from '../config/cidr.js';

/**
 * An IP allow list (an org's `ip_allow_list`, a token's `allowed_ips`), built once per
 * cached grant. `allows` runs per request on the client address after `trusted_proxies`
 * (already canonical: `::ffff:a.b.c.d` reads as `a.b.c.d`); the last answer is kept, since
 * one token's requests mostly come from one address.
 */
export class AddressList {
  readonly #list = new BlockList();
  readonly entries: readonly string[];
  #lastAddress = '';
  #lastAnswer = false;

  /** Entries as the schema accepted them; one that does not parse allows nothing (fail closed). */
  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      if (cidr !== null) this.#list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  allows(address: string): boolean {
    if (address === this.#lastAddress) return this.#lastAnswer;
    let answer = false;
    try {
      answer = this.#list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
    } catch {
      // Not an address at all (a unix socket peer): outside every list.
      answer = false;
    }
    this.#lastAddress = address;
    this.#lastAnswer = answer;
    return answer;
  }
}
