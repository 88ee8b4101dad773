// Fallback upstream when nginx is absent: node:http, keep-alive, fixed bodies (see lib/upstream.mjs).
import { createServer } from 'node:http';
import { LARGE_BYTES, SMALL_BODY } from './lib/upstream.mjs';

const port = Number(process.argv[2] ?? 9000);
const small = Buffer.from(SMALL_BODY);
const large = Buffer.alloc(LARGE_BYTES, 'x');
const smallHeaders = { 'content-type': 'application/json', 'content-length': String(small.length) };
const largeHeaders = { 'content-type': 'application/octet-stream', 'content-length': String(large.length) };

const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  const isLarge = req.url.includes('/contents/');
  req.resume();
  res.writeHead(200, isLarge ? largeHeaders : smallHeaders);
  res.end(isLarge ? large : small);
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
