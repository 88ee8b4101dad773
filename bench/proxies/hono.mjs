// The floor with Hono in front (issue #6's "Hono + @hono/node-server, undici Pool.stream into
// c.env.outgoing" row): the forward of bare.mjs inside one catch-all Hono route, answering
// RESPONSE_ALREADY_SENT. No auth. It measures what keeping Hono in front of the gateway costs by
// itself. Usage: hono.mjs PORT UPSTREAM_URL
import { serve } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { floorForwarder } from './floor.mjs';

const port = Number(process.argv[2]);
const floor = floorForwarder(process.argv[3]);
const app = new Hono();
app.all('*', (c) => {
  floor.forward(c.env.incoming, c.env.outgoing);
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
  void floor.close().then(() => process.exit(0));
});
