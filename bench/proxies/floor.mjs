// The floor's forward (issue #6): node:http request in, undici Pool.stream out, straight into the
// Node response; minimal hop-by-hop hygiene, no auth. Shared by bare.mjs and hono.mjs, so that the
// Hono row differs from the floor by Hono alone.
import { Pool } from 'undici';

const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'host',
  'proxy-connection',
  'upgrade',
  'te',
]);

export function floorForwarder(upstreamUrl) {
  const upstream = new URL(upstreamUrl);
  const pool = new Pool(upstream.origin, { connections: 128 });

  function requestHeaders(raw) {
    const out = ['host', upstream.host];
    for (let i = 0; i < raw.length; i += 2) {
      if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
    }
    return out;
  }

  function forward(req, res) {
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.stream(
      {
        path: req.url,
        method: req.method,
        headers: requestHeaders(req.rawHeaders),
        body: hasBody ? req : null,
      },
      ({ statusCode, headers }) => {
        for (const name of ['connection', 'keep-alive', 'transfer-encoding']) delete headers[name];
        res.writeHead(statusCode, headers);
        return res;
      },
      (err) => {
        if (err && !res.headersSent) {
          res.statusCode = 502;
          res.end();
        } else if (err) {
          res.destroy();
        }
      },
    );
  }

  return { forward, close: () => pool.close() };
}
