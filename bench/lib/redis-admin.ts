// The benchmark's own connection to its Redis, beside the subjects' connections: the server version
// for the results file, FLUSHALL between subjects, and INFO commandstats snapshots so each row can
// say how many Redis commands one operation cost (which shows, for instance, that an l2-hit really
// went to Redis once, or that a library does extra round trips).
import { Redis } from 'ioredis';

/** Calls per command name, as INFO commandstats counts them (`get`, `set`, `evalsha`, ...). */
export type CommandCalls = Map<string, number>;

export class RedisAdmin {
  private constructor(private readonly client: Redis) {}

  static async connect(url: string): Promise<RedisAdmin> {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    return new RedisAdmin(client);
  }

  /** `redis_version` from INFO server, e.g. "7.0.15". */
  async version(): Promise<string> {
    const info = await this.client.info('server');
    return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  }

  async keyCount(): Promise<number> {
    return this.client.dbsize();
  }

  async flushAll(): Promise<void> {
    await this.client.flushall();
  }

  /** A snapshot of every command's call count so far. */
  async commandCalls(): Promise<CommandCalls> {
    const info = await this.client.info('commandstats');
    const calls: CommandCalls = new Map();
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      calls.set(match[1]!, Number(match[2]));
    return calls;
  }

  async close(): Promise<void> {
    await this.client.quit();
  }
}

/**
 * Calls per operation between two snapshots, by command, leaving out the INFO calls the snapshots
 * themselves make. Commands below 0.005 per operation are dropped.
 */
export function callsPerOp(before: CommandCalls, after: CommandCalls, ops: number): Record<string, number> {
  const perOp: Record<string, number> = {};
  if (ops <= 0) return perOp;
  for (const [command, calls] of after) {
    if (command === 'info') continue;
    const value = (calls - (before.get(command) ?? 0)) / ops;
    if (value >= 0.005) perOp[command] = Math.round(value * 100) / 100;
  }
  return perOp;
}
