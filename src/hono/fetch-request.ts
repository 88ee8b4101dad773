import type { RawRequest } from '../request/facts.js';

/**
 * The request a Hono app was handed, in the shape `request/facts.ts` reads, so that the
 * middleware runs the gateway's own request reader rather than a second one.
 *
 * What a fetch `Request` cannot say is filled in as the weakest claim: HTTP/1.1, no peer address
 * (so no `trusted_proxies` and no `X-Forwarded-*` believed), no TLS, no `Expect` to answer. The
 * target is the path and query of `request.url`, which is also what Hono routes on: whatever the
 * server normalized on the way in (`new URL()` resolves dot segments and `\`), the middleware
 * authorizes the same string the app's router matches. Header names arrive lower-cased, and a
 * repeated field joined by `, ` (the Fetch standard), which the reader then treats as a list: two
 * `Authorization` fields are one value holding two credentials, refused as the gateway refuses
 * them.
 */
export function rawRequestOf(request: Request): RawRequest {
  const url = request.url;
  // `scheme://authority/...`: the path starts at the first `/` after the authority.
  const authorityStart = url.indexOf('//') + 2;
  const pathStart = url.indexOf('/', authorityStart);
  const target = pathStart < 0 ? '/' : withoutFragment(url.slice(pathStart));
  const rawHeaders: string[] = [];
  let sawHost = false;
  request.headers.forEach((value, name) => {
    if (name === 'host') sawHost = true;
    rawHeaders.push(name, value);
  });
  // Some runtimes keep `Host` out of a Request's headers; the URL's authority is what it said.
  if (!sawHost) {
    const authorityEnd = pathStart < 0 ? url.length : pathStart;
    rawHeaders.push('host', url.slice(authorityStart, authorityEnd));
  }
  return {
    method: request.method,
    url: target,
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    rawHeaders,
    peerAddress: '',
    expectContinue: false,
    secure: false,
  };
}

/** A fragment is never sent by a client; a `Request` built from a URL string may still carry one. */
function withoutFragment(target: string): string {
  const hash = target.indexOf('#');
  return hash < 0 ? target : target.slice(0, hash);
}
