import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { AccessLog } from './access-log.js';

/** A logger whose destination keeps every write, and the writes made so far. */
function capture() {
  const writes: string[] = [];
  const logger = createLogger('info', { write: (chunk: string) => writes.push(chunk) });
  return { logger, writes };
}

/** Enough of a ServerResponse for the access log: a status, `writableFinished`, and `close`. */
function response(statusCode: number, finished = true): ServerResponse & EventEmitter {
  return Object.assign(new EventEmitter(), {
    statusCode,
    writableFinished: finished,
  }) as unknown as ServerResponse & EventEmitter;
}

describe('AccessLog', () => {
  it('buffers lines until flush, then writes them in one write', () => {
    const { logger, writes } = capture();
    const log = new AccessLog(logger, 1, Math.random, 60_000);
    for (const id of ['a', 'b', 'c']) {
      const res = response(200);
      log.begin(res, id, 'GET', '10.0.0.1', 'GET /x');
      res.emit('close');
    }
    expect(writes).toEqual([]);
    log.flush();
    expect(writes).toHaveLength(1);
    const lines = (writes[0] as string)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.request_id)).toEqual(['a', 'b', 'c']);
  });

  it('writes the fields pino would, with an ISO time', () => {
    const { logger, writes } = capture();
    const log = new AccessLog(logger, 1, Math.random, 60_000);
    const res = response(403);
    const record = log.begin(res, 'req-1', 'POST', '2001:db8::1', 'POST /repos/{owner}/{repo}/pulls');
    record.tokenId = 'tok_abc';
    record.user = 'alice';
    record.reason = 'permission_missing';
    record.bytes = 120;
    res.emit('close');
    log.flush();
    const line = JSON.parse(writes[0] as string);
    expect(line).toMatchObject({
      level: 30,
      service: 'patgate',
      request_id: 'req-1',
      method: 'POST',
      route: 'POST /repos/{owner}/{repo}/pulls',
      status: 403,
      bytes: 120,
      token_id: 'tok_abc',
      user: 'alice',
      client: '2001:db8::1',
      granted: false,
      reason_id: 'permission_missing',
      msg: 'request',
    });
    expect(new Date(line.time).toISOString()).toBe(line.time);
    expect(Math.abs(Date.parse(line.time) - Date.now())).toBeLessThan(5_000);
    expect(line.aborted).toBeUndefined();
  });

  it('log injection: a hostile value stays inside its JSON string', () => {
    const { logger, writes } = capture();
    const log = new AccessLog(logger, 1, Math.random, 60_000);
    const res = response(200, false);
    const record = log.begin(res, 'id"},"granted":true,"x":"', 'GET', '10.0.0.1', 'GET /x');
    record.user = 'mallory\n{"level":60,"msg":"forged"}\u2028';
    res.emit('close');
    log.flush();
    const lines = (writes[0] as string).trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line.request_id).toBe('id"},"granted":true,"x":"');
    expect(line.user).toBe('mallory\n{"level":60,"msg":"forged"}\u2028');
    expect(line.aborted).toBe(true);
  });

  it('writes at once when the buffer passes 64 KiB', () => {
    const { logger, writes } = capture();
    const log = new AccessLog(logger, 1, Math.random, 60_000);
    for (let i = 0; writes.length === 0 && i < 10_000; i++) {
      const res = response(200);
      log.begin(res, `request-${i}`, 'GET', '10.0.0.1', 'GET /x');
      res.emit('close');
    }
    expect(writes).toHaveLength(1);
    expect((writes[0] as string).length).toBeGreaterThanOrEqual(64 * 1024);
  });
});
