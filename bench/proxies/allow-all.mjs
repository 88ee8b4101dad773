// The least a decision service in Node can do: node:http answering every request 200, with the
// identity headers patgate's decision listener sends and no body. nginx + auth_request to this is
// the ceiling of any Node decision service on the proxy core. Usage: allow-all.mjs PORT
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const server = createServer({ keepAliveTimeout: 120_000 }, (_req, res) => {
  res.writeHead(200, { 'x-patgate-user': 'alice', 'x-patgate-token-id': 'bench', 'content-length': '0' });
  res.end();
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
