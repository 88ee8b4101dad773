import { createServer, type Server } from 'node:http';

/**
 * The demo's stand-in for an internal API: answers every request with what it
 * received, so a reader can see what patgate forwarded (identity headers, no
 * Authorization).
 */
export function createDemoUpstream(): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        upstream: 'demo-api',
        method: req.method,
        path: req.url,
        patgate_user: req.headers['x-patgate-user'] ?? null,
        patgate_token_id: req.headers['x-patgate-token-id'] ?? null,
        saw_authorization_header: req.headers.authorization !== undefined,
        body_bytes: Buffer.concat(chunks).length,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}
