import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, type UpstreamErrorKind } from './upstream-error.js';

function withCode(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('classifyUpstreamError', () => {
  it.each<[string, UpstreamErrorKind]>([
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['ETIMEDOUT', 'timeout'],
    ['ECONNREFUSED', 'refused'],
    ['ENOTFOUND', 'refused'],
    ['EAI_AGAIN', 'refused'],
    ['EHOSTUNREACH', 'refused'],
    ['ENETUNREACH', 'refused'],
    ['UND_ERR_SOCKET', 'reset'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['UND_ERR_ABORTED', 'other'],
    ['ERR_INVALID_CHAR', 'other'],
  ])('%s → %s', (code, kind) => {
    expect(classifyUpstreamError(withCode(code))).toBe(kind);
  });

  it('looks inside an AggregateError from a multi-address connect', () => {
    const err = new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed');
    expect(classifyUpstreamError(err)).toBe('refused');
  });

  it('follows `cause`', () => {
    expect(classifyUpstreamError(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toBe('reset');
  });

  it.each([undefined, null, 'ECONNREFUSED', 42, new Error('no code')])('treats %s as other', (value) => {
    expect(classifyUpstreamError(value)).toBe('other');
  });
});
