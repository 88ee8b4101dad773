// The floor (issue #6): node:http in, undici Pool.stream out, straight into the Node response.
// No framework, no auth, minimal hop-by-hop hygiene. Usage: bare.mjs PORT UPSTREAM_URL
import { createServer } from 'node:http';
import { Pool } from 'undici';

const port = Number(process.argv[2]);
const upstream = new URL(process.argv[3]);
const pool = new Pool(upstream.origin, { connections: 128 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'host',
  'proxy-connection',
  'upgrade',
  'te',
]);

function requestHeaders(raw) {
  const out = ['host', upstream.host];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
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
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close().then(() => process.exit(0));
});
