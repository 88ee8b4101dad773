/** A request refused by an allow list or a rate limit: one of the gateway's `Refusal`s. */
export type LimitRefusal =
  | {
      readonly kind: 'limited';
      readonly reason: 'ip_not_allowed';
      readonly detail: string;
      readonly tokenId: string;
    }
  | {
      readonly kind: 'limited';
      readonly reason: 'rate_limited';
      readonly detail: string;
      readonly tokenId: string;
      /** The budget's state, for `X-RateLimit-*` and `Retry-After`. */
      readonly resource: string;
      readonly limit: number;
      readonly used: number;
      readonly reset: number;
      readonly retryAfter: number;
    }
  | {
      readonly kind: 'limited';
      readonly reason: 'concurrency_limited';
      readonly detail: string;
      readonly tokenId: string;
      readonly max: number;
    };

/** The secondary limit's name in `patgate_rate_limited_total{resource}`. */
export const CONCURRENCY_RESOURCE = 'concurrency';
