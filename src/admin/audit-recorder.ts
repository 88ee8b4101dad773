import type { Logger } from '../observability/logger.js';
import type { AuditLog, NewAuditEvent } from '../store/audit-log.js';
import type { AdminActor } from './context.js';

export type AuditEntry = Omit<NewAuditEvent, 'actor'>;

/**
 * Writes an admin action to the audit log and the process log. Called after the
 * action took effect: if the audit write then fails, answering an error would make
 * the client retry an action that happened (a second token, say), so the event is
 * logged in full at `error` instead and the call still succeeds.
 */
export class AuditRecorder {
  constructor(
    private readonly log: AuditLog,
    private readonly logger: Logger,
  ) {}

  async record(actor: AdminActor, entry: AuditEntry): Promise<void> {
    const fields = {
      audit: entry.action,
      actor: actor.kind === 'site_admin' ? 'site_admin' : actor.user,
      actor_kind: actor.kind,
      actor_token_id: actor.kind === 'site_admin' ? undefined : actor.tokenId,
      org: entry.org,
      token_id: entry.tokenId,
      user: entry.user,
      reason: entry.reason,
    };
    try {
      await this.log.append({ ...entry, actor });
    } catch (err) {
      this.logger.error(
        { err, ...fields, details: entry.details },
        'audit write failed; the action took effect',
      );
      return;
    }
    this.logger.info(fields, 'admin action');
  }
}
