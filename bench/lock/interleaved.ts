// Interleaved rounds of the uncontended scenario (not part of the suite): every subject runs
// ROUND_SECONDS in turn, ROUNDS times, in one process against one server, and the median of the
// per-round ratios is printed, which is steadier on a shared machine than one row per subject.
// Point BENCH_REDIS_URL at a scratch server (it is flushed). Usage:
//   node --conditions=redkit-source --import ./bench/lib/register.mjs bench/lock/interleaved.ts [rounds] [seconds]
import 'reflect-metadata';

import { randomUUID } from 'node:crypto';

import { LockService } from '@redkit/lock';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';
import Redlock from 'redlock';
import { Mutex } from 'redis-semaphore';

const [roundsText = '5', secondsText = '1'] = process.argv.slice(2);
const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6399';
if (Number(new URL(url).port || 6379) === 6379) throw new Error('refusing to flush 6379');
const IN_FLIGHT = 64;
const TTL_MS = 10_000;
const KEYS = 10_000;

const connection = await RedisConnection.open('interleaved', { url });
const locks = new LockService(connection, { ttlMs: TTL_MS, maxWaitMs: 30_000 });
await locks.onModuleInit();
const raw = new Redis(url, { enableAutoPipelining: true });
await raw.flushall();
const setSha = (await raw.script(
  'LOAD',
  "return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])",
)) as string;
const delSha = (await raw.script(
  'LOAD',
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
)) as string;
const redlock = new Redlock([raw], { retryCount: -1 });
redlock.on('error', () => undefined);

const subjects: Record<string, (resource: string) => Promise<unknown>> = {
  'raw-evalsha': (resource) => raw.evalsha(setSha, 1, `e:${resource}`, randomUUID(), TTL_MS),
  'raw-two-round-trip': async (resource) => {
    const token = randomUUID();
    if ((await raw.set(`t:${resource}`, token, 'PX', TTL_MS, 'NX')) !== 'OK') throw new Error('held');
    await raw.evalsha(delSha, 1, `t:${resource}`, token);
  },
  redkit: async (resource) => {
    const lock = await locks.acquire(resource);
    await lock.release();
  },
  redlock: async (resource) => {
    const lock = await redlock.acquire([`r:${resource}`], TTL_MS);
    await lock.release();
  },
  'redis-semaphore': async (resource) => {
    const mutex = new Mutex(raw, `s:${resource}`, {
      lockTimeout: TTL_MS,
      acquireTimeout: 30_000,
      refreshInterval: 0,
    });
    await mutex.acquire();
    await mutex.release();
  },
};
const resources = Array.from({ length: KEYS }, (_, index) => `uncontended:${index}`);

async function measure(section: (resource: string) => Promise<unknown>) {
  let seq = 0;
  let running = true;
  const caller = async () => {
    while (running) await section(resources[seq++ % KEYS]!);
  };
  const callers = Array.from({ length: IN_FLIGHT }, caller);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const start = seq;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, Number(secondsText) * 1_000));
  const rate = ((seq - start) * 1_000) / (performance.now() - started);
  running = false;
  await Promise.all(callers);
  return rate;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;
const rates: Record<string, number[]> = {};
for (let round = 0; round < Number(roundsText); round += 1) {
  for (const [name, section] of Object.entries(subjects)) {
    (rates[name] ??= []).push(await measure(section));
  }
}
const ratio = (name: string, base: string) =>
  median((rates[name] as number[]).map((rate, index) => rate / (rates[base] as number[])[index]!)).toFixed(2);
for (const name of Object.keys(subjects)) {
  console.log(
    `${name.padEnd(20)} median ${Math.round(median(rates[name] as number[]))
      .toLocaleString('en-US')
      .padStart(
        8,
        ' ',
      )} ops/s  ${ratio(name, 'raw-two-round-trip')}x 2rt  ${ratio(name, 'raw-evalsha')}x evalsha  ` +
      `${ratio(name, 'redlock')}x redlock  ${ratio(name, 'redis-semaphore')}x semaphore`,
  );
}
await locks.onApplicationShutdown();
await connection.close();
await raw.quit();
