/** One `rate_limits.costs` entry: by route pattern (as written in `routes`) or by methods. */
export interface CostRule {
  readonly points: number;
  readonly methods?: readonly string[] | undefined;
  readonly route?: string | undefined;
}

/**
 * What a request costs: its route's entry, else its method's, else 1 point. Compiled once;
 * a lookup is one or two Map reads and allocates nothing.
 */
export class CostTable {
  readonly #byRoute = new Map<string, number>();
  readonly #byMethod = new Map<string, number>();
  /** The dearest request: the least a budget must hold for any request to pass. */
  readonly max: number;

  constructor(rules: readonly CostRule[]) {
    let max = 1;
    // The first entry naming a route or method wins, as the config reads top to bottom.
    for (const rule of rules) {
      if (rule.route !== undefined && !this.#byRoute.has(rule.route))
        this.#byRoute.set(rule.route, rule.points);
      for (const method of rule.methods ?? []) {
        if (!this.#byMethod.has(method)) this.#byMethod.set(method, rule.points);
      }
      max = Math.max(max, rule.points);
    }
    this.max = max;
  }

  /** `pattern` is the matched rule's pattern (`POST /repos/{owner}/{repo}/issues`). */
  cost(method: string, pattern: string): number {
    if (this.#byRoute.size > 0) {
      const byRoute = this.#byRoute.get(pattern);
      if (byRoute !== undefined) return byRoute;
    }
    return this.#byMethod.get(method) ?? 1;
  }

  /** Route patterns named by an entry but absent from `patterns`: a typo costs 1 point silently otherwise. */
  unknownRoutes(patterns: ReadonlySet<string>): string[] {
    return [...this.#byRoute.keys()].filter((route) => !patterns.has(route));
  }
}
