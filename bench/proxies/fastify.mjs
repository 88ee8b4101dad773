// @fastify/http-proxy (reply-from over undici), logger off. No auth. Usage: fastify.mjs PORT UPSTREAM_URL
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const upstream = process.argv[3];
const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
await app.register(proxy, { upstream, undici: { connections: 128, pipelining: 1 } });
await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
