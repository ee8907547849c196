import { createServer, type Server } from 'node:net';

/** Asks the OS for a free TCP port on 127.0.0.1 (bind to 0, read the port, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error(`could not read a free port on ${host}`));
      });
    });
  });
}

/**
 * `host:port`, or a URL with a host and a port (a `postgres://` URL defaults to 5432), as host
 * and port; undefined when it is neither (the caller says what it was for).
 */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(text.includes('://') ? text : `tcp://${text}`);
    const port = Number(u.port || (u.protocol.startsWith('postgres') ? 5432 : Number.NaN));
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host && Number.isInteger(port) && port > 0 && port < 65_536) return { host, port };
  } catch {
    // not a URL: undefined below
  }
  return undefined;
}

/** Listens on `host:port` (0: any free port); resolves with the port, rejects on a listen error. */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
