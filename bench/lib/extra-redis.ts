// Extra throwaway redis-servers for the benchmarks: the Redlock rows of the lock benchmark (the
// suite's own server is the first of the three), and replicas of the suite's server for the durable
// rows (`redkit-durable`) of the lock, order-book and messaging benchmarks: free loopback ports, no
// persistence, stopped by the subject's close().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

export interface ExtraRedis {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Starts one redis-server on a free port (with `args` appended); resolves once it answers PING. */
export async function startExtraRedis(args: readonly string[] = []): Promise<ExtraRedis> {
  const port = await freePort();
  if (port === 6379) return startExtraRedis(args);
  const dir = mkdtempSync(join(tmpdir(), 'redkit-bench-'));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      ...args,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await answers(url)) return { url, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`redis-server on port ${port} did not answer PING`);
}

/**
 * Starts a replica of the server at `primaryUrl` (the suite's own) and resolves once the primary
 * counts it for WAIT: synced, and past its first acknowledgement (a replica acknowledges every
 * second). The primary's diskless sync delay is set to 0 first, so the sync starts at once.
 */
export async function startReplicaOf(primaryUrl: string): Promise<ExtraRedis> {
  const primary = new Redis(primaryUrl, { maxRetriesPerRequest: 0 });
  try {
    await primary.config('SET', 'repl-diskless-sync-delay', '0');
    const { hostname, port } = new URL(primaryUrl);
    const replica = await startExtraRedis(['--replicaof', hostname, port]);
    for (let attempt = 0; attempt < 100; attempt++) {
      await primary.set('bench:replica-probe', '1', 'PX', 1_000);
      if ((await primary.wait(1, 100)) >= 1) return replica;
    }
    await replica.stop();
    throw new Error(`the replica of ${primaryUrl} never acknowledged a write`);
  } finally {
    primary.disconnect();
  }
}
