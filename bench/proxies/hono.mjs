// The floor with Hono in front (issue #6's "Hono + @hono/node-server, undici Pool.stream into
// c.env.outgoing" row): the same forward as bare.mjs, inside one catch-all Hono route, answering
// RESPONSE_ALREADY_SENT. No auth. It measures what keeping Hono in front of the gateway costs by
// itself. Usage: hono.mjs PORT UPSTREAM_URL
import { serve } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
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

const app = new Hono();
app.all('*', (c) => {
  const { incoming: req, outgoing: res } = c.env;
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
  return RESPONSE_ALREADY_SENT;
});

const server = serve({
  fetch: app.fetch,
  port,
  hostname: '127.0.0.1',
  serverOptions: { keepAliveTimeout: 120_000 },
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close().then(() => process.exit(0));
});
