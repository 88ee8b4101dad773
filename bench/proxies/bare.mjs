// The floor (issue #6): node:http in, undici Pool.stream out, straight into the Node response.
// No framework, no auth, minimal hop-by-hop hygiene. Usage: bare.mjs PORT UPSTREAM_URL
import { createServer } from 'node:http';
import { floorForwarder } from './floor.mjs';

const port = Number(process.argv[2]);
const floor = floorForwarder(process.argv[3]);
const server = createServer({ keepAliveTimeout: 120_000 }, floor.forward);
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void floor.close().then(() => process.exit(0));
});
