import {
  type AuditEvent,
  type AuditFilter,
  type AuditLog,
  matchesAuditFilter,
  type NewAuditEvent,
} from './audit-log.js';
import { type EventSink, eventsFromAudit } from './event-types.js';

/** Keeps the newest `maxEvents` in a ring; for the memory store. */
export class MemoryAuditLog implements AuditLog {
  readonly #events: AuditEvent[] = [];
  #sequence = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly now: () => number = Date.now,
    /** Where the entries' webhook events go (the memory webhook store); none: no events. */
    private readonly events?: EventSink,
  ) {
    if (!Number.isInteger(maxEvents) || maxEvents <= 0) {
      throw new TypeError(`maxEvents must be a positive integer, got ${maxEvents}`);
    }
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const at = this.now();
    const stored: AuditEvent = structuredClone({
      ...event,
      id: `${at}-${this.#sequence++}`,
      at: new Date(at).toISOString(),
    });
    this.#events.push(stored);
    this.events?.publish(eventsFromAudit(stored));
    if (this.#events.length > this.maxEvents) this.#events.splice(0, this.#events.length - this.maxEvents);
    // A copy: the caller's changes must not rewrite history.
    return structuredClone(stored);
  }

  async list(filter: AuditFilter): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    for (let i = this.#events.length - 1; i >= 0 && out.length < filter.limit; i--) {
      const event = this.#events[i];
      if (event !== undefined && matchesAuditFilter(event, filter)) out.push(structuredClone(event));
    }
    return out;
  }
}
