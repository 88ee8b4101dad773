// The upstream every proxy forwards to: nginx when installed (it is then never the bottleneck),
// else a minimal node:http server. Both answer ~200 B of JSON, and 64 KiB under `/contents/`.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, hasCommand, start, stop, waitForPort } from './procs.mjs';

export const SMALL_BODY = `${JSON.stringify({
  id: 1347,
  number: 1347,
  title: 'Found a bug',
  state: 'open',
  user: { login: 'octocat', id: 1 },
  labels: [{ name: 'bug' }],
  comments: 0,
  created_at: '2011-04-22T13:33:48Z',
  body: 'I am having a problem with this.',
})}\n`;
export const LARGE_BYTES = 64 * 1024;

const NGINX = '/usr/sbin/nginx';

export function nginxAvailable() {
  return hasCommand(NGINX, ['-v']) || hasCommand('nginx', ['-v']);
}

export function nginxBinary() {
  return hasCommand(NGINX, ['-v']) ? NGINX : 'nginx';
}

/** `kind`: 'nginx' | 'node' | 'auto'. Starts on the current (load) core. */
export async function startUpstream(kind = 'auto') {
  const useNginx = kind === 'nginx' || (kind === 'auto' && nginxAvailable());
  return useNginx ? startNginx() : startNodeUpstream();
}

async function startNginx() {
  const dir = await mkdtemp(join(tmpdir(), 'patgate-bench-nginx-'));
  const port = await freePort();
  const www = join(dir, 'www');
  await mkdir(www);
  await writeFile(join(www, 'large.bin'), Buffer.alloc(LARGE_BYTES, 'x'));
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub));
  const escaped = SMALL_BODY.trimEnd().replaceAll("'", "\\'");
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  # sendfile stalled 64 KiB responses by ~40 ms on loopback (issue #6).
  sendfile off;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  open_file_cache max=16 inactive=3600s;
  open_file_cache_valid 3600s;
  server {
    listen 127.0.0.1:${port} reuseport;
    root ${www};
    location ~ /contents/ {
      default_type application/octet-stream;
      try_files /large.bin =404;
    }
    location / {
      default_type application/json;
      return 200 '${escaped}\n';
    }
  }
}
`;
  const confPath = join(dir, 'nginx.conf');
  await writeFile(confPath, conf);
  const child = start(nginxBinary(), ['-p', dir, '-c', confPath, '-e', join(dir, 'error.log')]);
  try {
    await waitForPort(port, 10_000, child);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    kind: 'nginx',
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startNodeUpstream() {
  const port = await freePort();
  const script = fileURLToPath(new URL('../upstream-node.mjs', import.meta.url));
  const child = start(process.execPath, [script, String(port)]);
  await waitForPort(port, 10_000, child);
  return {
    kind: 'node',
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      await stop(child);
    },
  };
}
