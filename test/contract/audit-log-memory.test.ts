import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/store/memory-audit-log.js';
import { auditLogContract } from './audit-log.contract.js';

auditLogContract('MemoryAuditLog', async (maxEvents) => new MemoryAuditLog(maxEvents));

describe('MemoryAuditLog', () => {
  it('rejects a bound that is not a positive integer', () => {
    expect(() => new MemoryAuditLog(0)).toThrow(/maxEvents/);
    expect(() => new MemoryAuditLog(1.5)).toThrow(/maxEvents/);
  });
});
