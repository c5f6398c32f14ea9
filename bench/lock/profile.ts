// Profiling aid (not part of the suite): redkit's uncontended acquire + release, 64 in flight, for
// a few seconds against BENCH_REDIS_URL. Usage:
//   node --cpu-prof --conditions=redkit-source --import ./bench/lib/register.mjs bench/lock/profile.ts [seconds]
import 'reflect-metadata';

import { LockService } from '@redkit/lock';
import { RedisConnection } from '@redkit/redis';

const seconds = Number(process.argv[2] ?? '3');
const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6399';
const connection = await RedisConnection.open('profile', { url });
const locks = new LockService(connection, { ttlMs: 10_000, maxWaitMs: 30_000 });
await locks.onModuleInit();
const resources = Array.from({ length: 10_000 }, (_, index) => `profile:${index}`);
let seq = 0;
let running = true;
const worker = async () => {
  while (running) {
    const lock = await locks.acquire(resources[seq++ % 10_000]!);
    await lock.release();
  }
};
const workers = Array.from({ length: 64 }, worker);
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
running = false;
await Promise.all(workers);
console.log(`${Math.round((seq * 1_000) / (performance.now() - started))} ops/s`);
await locks.onApplicationShutdown();
await connection.close();
