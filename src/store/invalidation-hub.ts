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

/** Wire form on the Redis channel: `t:{hash}`, `o:{owner}`, `*`. */
export function encodeInvalidation(event: Invalidation): string {
  switch (event.kind) {
    case 'token':
      return `t:${event.tokenHash}`;
    case 'owner':
      return `o:${event.owner}`;
    case 'all':
      return '*';
  }
}

/** Null for a message this version does not understand. */
export function decodeInvalidation(message: string): Invalidation | null {
  if (message === '*') return { kind: 'all' };
  if (message.startsWith('t:') && message.length > 2) return { kind: 'token', tokenHash: message.slice(2) };
  if (message.startsWith('o:') && message.length > 2) return { kind: 'owner', owner: message.slice(2) };
  return null;
}
