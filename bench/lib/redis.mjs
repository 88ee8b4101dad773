// A private redis-server for one benchmark run: its own free port, no persistence, removed on stop.
// Never the shared Redis on 6379: the benchmark floods and flushes what it talks to.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, start, stop, waitForPort } from './procs.mjs';

export async function startPrivateRedis() {
  const dir = await mkdtemp(join(tmpdir(), 'patgate-bench-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = start('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ]);
    try {
      await waitForPort(port, 10_000, child);
      return {
        url: `redis://127.0.0.1:${port}/0`,
        port,
        pid: child.pid,
        async stop() {
          await stop(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      await stop(child, 'SIGKILL');
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}
