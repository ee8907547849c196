import { createServer } from 'node:net';

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
