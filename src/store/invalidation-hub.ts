import type { Invalidation, InvalidationListener } from './grant-store.js';

/** Fans one invalidation out to every listener; one listener's failure never starves the rest. */
export class InvalidationHub {
  readonly #listeners: InvalidationListener[] = [];

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  add(listener: InvalidationListener): void {
    this.#listeners.push(listener);
  }

  emit(event: Invalidation): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

/** An invalidation as read from the channel, with when it was published if the sender said. */
export interface DecodedInvalidation {
  readonly event: Invalidation;
  /** The publisher's clock (ms since the epoch) when it sent the message; null from older senders. */
  readonly publishedAtMs: number | null;
}

/**
 * Wire form on the Redis channel: `t:{hash}:{ms}`, `o:{owner}:{ms}`, `*:{ms}`, where
 * `{ms}` is the publisher's clock at publish time, so that subscribers can measure
 * how late the message arrived. Neither a token hash (hex) nor an owner (a login)
 * contains `:`, so the last `:` separates the timestamp.
 */
export function encodeInvalidation(event: Invalidation, publishedAtMs: number): string {
  const at = Math.trunc(publishedAtMs);
  switch (event.kind) {
    case 'token':
      return `t:${event.tokenHash}:${at}`;
    case 'owner':
      return `o:${event.owner}:${at}`;
    case 'all':
      return `*:${at}`;
  }
}

const TIMESTAMP = /^\d{1,15}$/;

/**
 * Null for a message this version does not understand. The forms without a
 * timestamp (`t:{hash}`, `o:{owner}`, `*`), sent by earlier versions, still decode.
 */
export function decodeInvalidation(message: string): DecodedInvalidation | null {
  if (message === '*') return { event: { kind: 'all' }, publishedAtMs: null };
  if (message.startsWith('*:')) {
    const at = message.slice(2);
    return TIMESTAMP.test(at) ? { event: { kind: 'all' }, publishedAtMs: Number(at) } : null;
  }
  const tag = message.slice(0, 2);
  if (tag !== 't:' && tag !== 'o:') return null;
  let name = message.slice(2);
  let publishedAtMs: number | null = null;
  const colon = name.lastIndexOf(':');
  if (colon >= 0 && TIMESTAMP.test(name.slice(colon + 1))) {
    publishedAtMs = Number(name.slice(colon + 1));
    name = name.slice(0, colon);
  }
  if (name === '') return null;
  const event: Invalidation =
    tag === 't:' ? { kind: 'token', tokenHash: name } : { kind: 'owner', owner: name };
  return { event, publishedAtMs };
}
