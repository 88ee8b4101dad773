import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function parseListen(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(colon + 1)) };
}

/** Why an address could not be bound, in the words an operator acts on. */
const BIND_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (temporary DNS failure)',
};

/**
 * A listener that could not bind its address. The message is the line an operator reads:
 * `listen 127.0.0.1:8080: address already in use` (the config key when the caller named it).
 */
export class ListenError extends Error {
  readonly code: string | undefined;
  /** Why, without the key and address: `address already in use`. */
  readonly reason: string;

  constructor(
    readonly address: string,
    readonly key: string | undefined,
    cause: NodeJS.ErrnoException,
  ) {
    const reason = (cause.code === undefined ? undefined : BIND_ERRORS[cause.code]) ?? cause.message;
    super(`${key === undefined ? '' : `${key} `}${address}: ${reason}`, { cause });
    this.name = 'ListenError';
    this.code = cause.code;
    this.reason = reason;
  }
}

/**
 * Listens and resolves with the bound address (port 0 resolves to the real port). Rejects with a
 * `ListenError` naming `key` (the config key the address came from) and the address.
 */
export function listen(server: Server, address: string, key?: string): Promise<AddressInfo> {
  const { host, port } = parseListen(address);
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new ListenError(address, key, error));
    server.once('error', onError);
    try {
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve(server.address() as AddressInfo);
      });
    } catch (error) {
      server.off('error', onError);
      onError(error as NodeJS.ErrnoException);
    }
  });
}

export function formatAddress(info: AddressInfo): string {
  return info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
}

/** The host of a `host:port` listen address is a loopback address (or `localhost`). */
export function isLoopbackListen(address: string): boolean {
  const { host } = parseListen(address);
  const lower = host.toLowerCase();
  return (
    lower === 'localhost' ||
    lower === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower)
  );
}
