import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import type { AuditLog } from '../store/audit-log.js';
import { StoreUnavailableError } from '../store/errors.js';
import { MemoryAuditLog } from '../store/memory-audit-log.js';
import { type AuditEntry, AuditRecorder } from './audit-recorder.js';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

const ENTRY: AuditEntry = {
  action: 'token.deny',
  org: 'acme',
  tokenId: 'tok_aaaaaaaaaaaaaaaaaaaa',
  user: 'alice',
  reason: 'ask for read-only',
  details: {},
};
const CAROL = { kind: 'org_admin', user: 'carol', tokenId: 'tok_bbbbbbbbbbbbbbbbbbbb' } as const;

describe('AuditRecorder', () => {
  it('appends the event with its actor and logs it', async () => {
    const log = new MemoryAuditLog(10);
    const { lines, stream } = capture();
    await new AuditRecorder(log, createLogger('info', stream)).record(CAROL, ENTRY);
    expect(await log.list({ limit: 10 })).toEqual([expect.objectContaining({ ...ENTRY, actor: CAROL })]);
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'admin action',
        audit: 'token.deny',
        actor: 'carol',
        reason: 'ask for read-only',
      }),
    ]);
  });

  it('does not fail an action that took effect when the audit write fails: it logs the whole event', async () => {
    const failing: AuditLog = {
      append: () => Promise.reject(new StoreUnavailableError()),
      list: () => Promise.resolve([]),
    };
    const { lines, stream } = capture();
    await expect(
      new AuditRecorder(failing, createLogger('info', stream)).record(CAROL, ENTRY),
    ).resolves.toBeUndefined();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        msg: 'audit write failed; the action took effect',
        audit: 'token.deny',
        actor: 'carol',
        actor_token_id: CAROL.tokenId,
        token_id: ENTRY.tokenId,
      }),
    ]);
  });
});
