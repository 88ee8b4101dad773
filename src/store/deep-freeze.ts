/**
 * Freezes a plain JSON-like value and everything it holds. Snapshots are shared by
 * every request a cache serves, so one caller's mutation must not reach the next.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
