// node-http-proxy with a keep-alive agent (without one it opens a connection per request).
// No auth. Usage: http-proxy.mjs PORT UPSTREAM_URL
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const port = Number(process.argv[2]);
const target = process.argv[3];
const proxy = httpProxy.createProxyServer({
  target,
  agent: new Agent({ keepAlive: true, maxSockets: 128 }),
  xfwd: true,
});
proxy.on('error', (_err, _req, res) => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
});
const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => proxy.web(req, res));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
