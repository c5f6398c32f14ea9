// Interleaved rounds of the uncontended scenario (not part of the suite): every subject runs
// ROUND_SECONDS in turn, ROUNDS times, in one process against one server, and the median of the
// per-round ratios is printed, which is steadier on a shared machine than one row per subject.
// Point BENCH_REDIS_URL at a scratch server (it is flushed). Usage:
//   node --conditions=redkit-source --import ./bench/lib/register.mjs bench/lock/interleaved.ts [rounds] [seconds] [contended]
// With `contended`, 16 callers share one resource and only redkit runs, coalesced or not, without
// in-process hand-over (every hand-over through Redis).
import 'reflect-metadata';

import { randomUUID } from 'node:crypto';

import { LockService } from '@redkit/lock';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';
import Redlock from 'redlock';
import { Mutex } from 'redis-semaphore';
import { median, rateOf } from '../lib/interleaved.js';

const [roundsText = '5', secondsText = '1', mode = 'uncontended'] = process.argv.slice(2);
const contended = mode === 'contended';
const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6399';
if (Number(new URL(url).port || 6379) === 6379) throw new Error('refusing to flush 6379');
const IN_FLIGHT = contended ? 16 : 64;
const TTL_MS = 10_000;
const KEYS = 10_000;

const connection = await RedisConnection.open('interleaved', { url });
const locks = new LockService(connection, { ttlMs: TTL_MS, maxWaitMs: 30_000 });
await locks.onModuleInit();
const options = { ttlMs: TTL_MS, maxWaitMs: 30_000, localHandoff: !contended };
const uncoalesced = new LockService(connection, { ...options, coalesce: false });
await uncoalesced.onModuleInit();
const noHandoff = new LockService(connection, options);
await noHandoff.onModuleInit();
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

const redkitSection = (service: LockService) => async (resource: string) => {
  const lock = await service.acquire(resource);
  await lock.release();
};
const uncontendedSubjects: Record<string, (resource: string) => Promise<unknown>> = {
  'raw-evalsha': (resource) => raw.evalsha(setSha, 1, `e:${resource}`, randomUUID(), TTL_MS),
  'raw-two-round-trip': async (resource) => {
    const token = randomUUID();
    if ((await raw.set(`t:${resource}`, token, 'PX', TTL_MS, 'NX')) !== 'OK') throw new Error('held');
    await raw.evalsha(delSha, 1, `t:${resource}`, token);
  },
  redkit: redkitSection(locks),
  'redkit-uncoalesced': redkitSection(uncoalesced),
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
const subjects = contended
  ? { 'redkit-no-handoff': redkitSection(noHandoff), 'redkit-no-handoff-uncoal': redkitSection(uncoalesced) }
  : uncontendedSubjects;
const resources = Array.from({ length: KEYS }, (_, index) => `uncontended:${index}`);

const measure = (section: (resource: string) => Promise<unknown>) =>
  rateOf(
    (seq) => section(contended ? 'contended' : (resources[seq % KEYS] as string)),
    Number(secondsText),
    IN_FLIGHT,
  );

const rates: Record<string, number[]> = {};
for (let round = 0; round < Number(roundsText); round += 1) {
  for (const [name, section] of Object.entries(subjects)) {
    (rates[name] ??= []).push(await measure(section));
  }
}
const ratio = (name: string, base: string) =>
  median((rates[name] as number[]).map((rate, index) => rate / (rates[base] as number[])[index]!)).toFixed(2);
for (const name of Object.keys(subjects)) {
  if (contended) {
    console.log(`${name.padEnd(26)} median ${Math.round(median(rates[name] as number[]))} sections/s`);
    continue;
  }
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
await Promise.all([locks, uncoalesced, noHandoff].map((service) => service.onApplicationShutdown()));
await connection.close();
await raw.quit();
