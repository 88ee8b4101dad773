/** Where a sign-in returns when it was not told (pages will replace this with the token list). */
export const DEFAULT_RETURN_TO = '/console/session';

const MAX_RETURN_TO = 2048;

/**
 * A place on this console to go back to after signing in: a path, never another
 * origin. `//evil.example` and `/\evil.example` are scheme-relative URLs to a
 * browser (an open redirect), so only `/` followed by something else passes.
 */
export function safeReturnTo(value: string | undefined): string {
  if (value === undefined || value.length > MAX_RETURN_TO || !/^\/(?![/\\])[\x21-\x7e]*$/.test(value)) {
    return DEFAULT_RETURN_TO;
  }
  return value;
}
