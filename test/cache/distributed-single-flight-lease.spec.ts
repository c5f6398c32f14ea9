import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CacheLoaderError } from '@redkit/cache';
import { Redis } from 'ioredis';

import { eventually, RedisServer } from '../harness/index.js';
import { openCache, type CacheInstance } from './cache-test-kit.js';

/** One command as MONITOR saw it: who sent it (an address, or `lua` inside a script) and its words. */
interface SeenCommand {
  source: string;
  args: string[];
}

/**
 * MONITOR on a connection of its own: records what the server runs, so a test can count the round
 * trips one connection made. `between` waits for a marker ECHO from that connection, so no command
 * of the operation is still on its way.
 */
class CommandLog {
  private readonly seen: SeenCommand[] = [];

  private constructor(private readonly monitor: Redis) {}

  static async open(url: string): Promise<CommandLog> {
    const client = new Redis(url, { lazyConnect: true });
    await client.connect();
    const monitor = await client.monitor();
    const log = new CommandLog(monitor);
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      log.seen.push({ source, args });
    });
    await client.quit();
    return log;
  }

  /** The commands the server ran while `operation` ran, as sent by `client` and by scripts. */
  async during(client: Redis, operation: () => Promise<unknown>): Promise<SeenCommand[]> {
    const marker = `marker-${Math.random().toString(36).slice(2)}`;
    await client.echo(`${marker}-start`);
    await operation();
    await client.echo(`${marker}-end`);
    const isMarker = (command: SeenCommand, end: string) =>
      command.args[0]?.toLowerCase() === 'echo' && command.args[1] === `${marker}-${end}`;
    const [start, end] = await eventually(() => {
      const from = this.seen.findIndex((command) => isMarker(command, 'start'));
      const to = this.seen.findIndex((command) => isMarker(command, 'end'));
      if (from < 0 || to < 0) throw new Error('the markers have not come through MONITOR yet');
      return [from, to];
    });
    const source = (this.seen[start] as SeenCommand).source;
    return this.seen
      .slice(start + 1, end)
      .filter((command) => command.source === source || command.source === 'lua');
  }

  async close(): Promise<void> {
    this.monitor.disconnect();
  }
}

const sent = (commands: SeenCommand[]) =>
  commands.filter((command) => command.source !== 'lua').map((command) => command.args[0]?.toLowerCase());
const landingNotices = (commands: SeenCommand[]) =>
  commands.filter(
    (command) =>
      command.args[0]?.toLowerCase() === 'publish' && command.args[1]?.endsWith(':cache:~landed') === true,
  );

describe('distributed single-flight leases, counted by the server', () => {
  let server: RedisServer;
  let log: CommandLog;
  /** A plain connection for looking at keys. */
  let inspector: Redis;
  const instances: CacheInstance[] = [];
  const open = async () => {
    const instance = await openCache(
      { url: server.url, keyPrefix: 'dsf' },
      {
        // Waiters are woken by the landing notice or the test times out: no waitMs fallback in sight.
        distributedSingleFlight: { leaseMs: 60_000, waitMs: 120_000 },
        ttlJitter: 0,
        namespaces: { graceful: { ttlMs: 100, graceMs: 60_000 } },
      },
    );
    instances.push(instance);
    return instance;
  };
  const controlled = <T>() => {
    let settle!: { resolve(value: T): void; reject(error: Error): void };
    const loader = () =>
      new Promise<T>((resolve, reject) => {
        settle = { resolve, reject };
      });
    return { loader, settle: () => settle };
  };

  beforeAll(async () => {
    server = await RedisServer.start();
    log = await CommandLog.open(server.url);
    inspector = new Redis(server.url);
  });

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
  });

  afterAll(async () => {
    await log?.close();
    await inspector?.quit();
    await server?.stop();
  });

  it('costs a miss nobody waits for one command to read and lease, one to store and release, and no landing notice', async () => {
    const { cache, connection } = await open();
    const commands = await log.during(connection.client as Redis, () =>
      cache.getOrSet('alone', async () => ({ loaded: true })),
    );
    // SET NX GET, then SET GET; the PUBLISH is the L1 invalidation every write sends, with or
    // without distributed single-flight. No script, no landing notice.
    expect(sent(commands)).toEqual(['set', 'set', 'publish']);
    expect(commands.filter((command) => command.source === 'lua')).toEqual([]);
    expect(landingNotices(commands)).toEqual([]);
    expect(await inspector.get('dsf:cache:default:alone')).toMatch(/^\d+:\d+:/);
    expect(await cache.get('alone')).toEqual({ loaded: true });
  });

  it('reads or leases the misses of one event-loop turn with one script, each key leased and stored on its own', async () => {
    const { cache, connection } = await open();
    const keys = ['turn-a', 'turn-b', 'turn-c', 'turn-d'];
    // Stored by another instance: in Redis, not in this one's L1.
    await (await open()).cache.set('turn-d', { loadedBy: 'earlier' });
    let loads = 0;
    const commands = await log.during(connection.client as Redis, () =>
      Promise.all(
        keys.map((key) =>
          cache.getOrSet(key, async () => {
            loads += 1;
            return { loadedBy: key };
          }),
        ),
      ),
    );
    const fromClient = sent(commands);
    // One script read or leased all four (the fourth was stored: read, not leased); three SET GET
    // stores ended the three leases. (EVALSHA, or EVAL after it on a server that lacked the script.)
    expect(fromClient.filter((name) => name === 'set')).toHaveLength(3);
    expect(fromClient.filter((name) => name === 'evalsha').length).toBe(1);
    expect(
      commands.filter((command) => command.source === 'lua').map((command) => command.args.slice(0, 2)),
    ).toEqual(keys.map((key) => ['SET', `dsf:cache:default:${key}`]));
    expect(loads).toBe(3);
    expect(await cache.get('turn-a')).toEqual({ loadedBy: 'turn-a' });
    expect(await cache.get('turn-d')).toEqual({ loadedBy: 'earlier' });
    for (const key of keys) expect(await inspector.get(`dsf:cache:default:${key}`)).toMatch(/^\d+:\d+:/);
  });

  it('announces the landing once a waiter marked the lease, and the waiter reads the stored value', async () => {
    const holder = await open();
    const waiter = await open();
    const load = controlled<{ loadedBy: string }>();
    const loading = holder.cache.getOrSet('shared', load.loader);
    const key = 'dsf:cache:default:shared';
    await eventually(async () => expect(await inspector.get(key)).toBe(`~${holder.cache.instanceId}`));
    let waiterLoads = 0;
    const waiting = waiter.cache.getOrSet('shared', async () => {
      waiterLoads += 1;
      return { loadedBy: 'waiter' };
    });
    await eventually(async () => expect(await inspector.get(key)).toBe(`~${holder.cache.instanceId}+`));
    expect(await inspector.pttl(key)).toBeGreaterThan(0);
    const commands = await log.during(holder.connection.client as Redis, async () => {
      load.settle().resolve({ loadedBy: 'holder' });
      await loading;
    });
    expect(landingNotices(commands)).toHaveLength(1);
    await expect(waiting).resolves.toEqual({ loadedBy: 'holder' });
    expect(waiterLoads).toBe(0);
    expect(await inspector.get(key)).toMatch(/^\d+:\d+:/);
  });

  it('wakes a waiter when the lease ends without a value, and the waiter loads it itself', async () => {
    const holder = await open();
    const waiter = await open();
    const load = controlled<{ loadedBy: string }>();
    const loading = holder.cache.getOrSet('failing', load.loader);
    const key = 'dsf:cache:default:failing';
    await eventually(async () => expect(await inspector.get(key)).toBe(`~${holder.cache.instanceId}`));
    const waiting = waiter.cache.getOrSet('failing', async () => ({ loadedBy: 'waiter' }));
    await eventually(async () => expect(await inspector.get(key)).toBe(`~${holder.cache.instanceId}+`));
    load.settle().reject(new Error('database down'));
    await expect(loading).rejects.toBeInstanceOf(CacheLoaderError);
    await expect(waiting).resolves.toEqual({ loadedBy: 'waiter' });
    expect(await holder.cache.get('failing')).toEqual({ loadedBy: 'waiter' });
  });

  it('serves a fresh L2 value to another instance with one command that writes nothing', async () => {
    const writer = await open();
    const reader = await open();
    await writer.cache.set('present', { stored: true });
    let loads = 0;
    const commands = await log.during(reader.connection.client as Redis, async () => {
      expect(
        await reader.cache.getOrSet('present', async () => {
          loads += 1;
          return { stored: false };
        }),
      ).toEqual({ stored: true });
    });
    expect(sent(commands)).toEqual(['set']);
    expect(loads).toBe(0);
    expect(await inspector.get('dsf:cache:default:present')).toMatch(/^\d+:\d+:/);
  });

  it('keeps a stale entry readable while one instance reloads it under a lease, and wakes who waits for it', async () => {
    const holder = await open();
    const other = await open();
    const key = 'dsf:cache:graceful:book';
    await holder.cache.set('book', { version: 1 }, { namespace: 'graceful' });
    await eventually(async () => {
      // Until its 100 ms TTL has passed, the entry is fresh and nobody reloads it.
      const text = (await inspector.get(key)) as string;
      expect(Number(text.slice(0, text.indexOf(':')))).toBeLessThan(Date.now());
    });
    // A soft timeout means: reload, serving stale only if the loader is slow. Under a lease.
    const reload = { namespace: 'graceful', loaderSoftTimeoutMs: 60_000 };
    const load = controlled<{ version: number }>();
    const loading = holder.cache.getOrSet('book', load.loader, reload);
    const leased = `~${holder.cache.instanceId}|`;
    await eventually(async () =>
      expect(await inspector.get(key)).toMatch(new RegExp(`^${leased}\\d+\\|\\d+:`)),
    );
    // Without a soft timeout, an entry in grace is served at once, lease or not.
    expect(
      await other.cache.getOrSet('book', async () => ({ version: -1 }), { namespace: 'graceful' }),
    ).toEqual({
      version: 1,
    });
    let otherLoads = 0;
    const waiting = other.cache.getOrSet(
      'book',
      async () => {
        otherLoads += 1;
        return { version: -1 };
      },
      reload,
    );
    await eventually(async () =>
      expect(await inspector.get(key)).toMatch(new RegExp(`^~${holder.cache.instanceId}\\+\\|`)),
    );
    load.settle().resolve({ version: 2 });
    await expect(loading).resolves.toEqual({ version: 2 });
    await expect(waiting).resolves.toEqual({ version: 2 });
    expect(otherLoads).toBe(0);
  });

  it('takes over a lease whose holder stopped renewing it once it ends on the server clock', async () => {
    const { cache } = await open();
    const key = 'dsf:cache:graceful:orphan';
    const staleEntry = `${Date.now() - 1_000}:${Date.now() + 60_000}:{"version":1}`;
    // A lease that ended a second ago (the server's clock), over an entry in grace.
    const [seconds] = await inspector.time();
    await inspector.set(key, `~gone-instance|${(Number(seconds) - 1) * 1_000}|${staleEntry}`, 'PX', 60_000);
    const value = await cache.getOrSet('orphan', async () => ({ version: 2 }), {
      namespace: 'graceful',
      loaderSoftTimeoutMs: 60_000,
    });
    expect(value).toEqual({ version: 2 });
    expect(await inspector.get(key)).toMatch(/^\d+:\d+:/);
  });
});
