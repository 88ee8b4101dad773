import { connect } from 'node:net';

/** One command Redis executed: its arguments, and who sent it (`ip:port`, or `lua` for a script). */
export type MonitorListener = (args: string[], source: string) => void;

export interface RedisMonitor {
  onCommand(listener: MonitorListener): void;
  close(): void;
}

/**
 * Redis MONITOR over a plain socket. ioredis's `monitor()` can fail to start when another
 * client's command is echoed in the same read as MONITOR's `+OK`: it is still waiting for that
 * reply, finds a monitor line instead and reports "Command queue state error" (a gateway
 * reconnecting after a Redis restart sends exactly such commands). Here nothing waits on a reply
 * but the first.
 */
export function startRedisMonitor(url: string): Promise<RedisMonitor> {
  const { hostname, port } = new URL(url);
  const listeners: MonitorListener[] = [];
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let buffered = '';
    let started = false;
    const monitor: RedisMonitor = {
      onCommand: (listener) => listeners.push(listener),
      close: () => socket.destroy(),
    };
    socket.setEncoding('latin1');
    socket.once('error', reject);
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!started) {
          if (line !== '+OK') {
            reject(new Error(`MONITOR answered ${line}`));
            socket.destroy();
            return;
          }
          started = true;
          resolve(monitor);
          continue;
        }
        const parsed = parseMonitorLine(line);
        if (parsed !== null) for (const listener of listeners) listener(parsed.args, parsed.source);
      }
    });
  });
}

/** `+1700000000.123456 [0 127.0.0.1:5000] "evalsha" "abc" "1" "key"`: arguments and source. */
function parseMonitorLine(line: string): { args: string[]; source: string } | null {
  const open = line.indexOf('[');
  const close = line.indexOf(']', open);
  const firstQuote = line.indexOf('"', close);
  if (open < 0 || close < 0 || firstQuote < 0) return null;
  const source = line.slice(open + 1, close).split(' ')[1] ?? '';
  const args = line
    .slice(firstQuote + 1, -1)
    .split('" "')
    .map((arg) => arg.replace(/\\"/g, '"'));
  return { args, source };
}
