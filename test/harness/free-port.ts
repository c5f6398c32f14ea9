import { createServer } from 'node:net';

/**
 * Ports this process has already handed out. The kernel may offer a port again as soon as the probe
 * socket closes, before the redis-server meant to take it has bound; remembering them keeps two
 * servers started side by side in one process from being given the same port.
 */
const handedOut = new Set<number>();

/**
 * Asks the kernel for a free loopback TCP port (listen on port 0, read the port, close).
 *
 * The port is only free at the moment of asking: another process may take it before the caller binds
 * it, so callers must be ready to retry with a new port (RedisServer.start does).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listenOnEphemeralPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: the kernel kept offering ports this process already handed out');
}

function listenOnEphemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}
