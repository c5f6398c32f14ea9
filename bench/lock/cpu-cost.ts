// CPU cost per uncontended acquire + release (not part of the suite): interleaved rounds as in
// interleaved.ts, but besides ops/s each subject reports what one operation costs the client process
// (user + system CPU, process.cpuUsage) and the Redis server (INFO cpu), in microseconds. On a
// shared, noisy machine ops/s swing with other people's load; CPU per operation hardly does, and it
// says which side (client or server) a change saves. Point BENCH_REDIS_URL at a scratch server (it is
// flushed). Usage:
//   node --conditions=redkit-source --import ./bench/lib/register.mjs bench/lock/cpu-cost.ts [rounds] [seconds] [subjects]
// `subjects`: comma-separated names to run (default: all).
import 'reflect-metadata';

import { randomUUID } from 'node:crypto';

import { LockService } from '@redkit/lock';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';
import Redlock from 'redlock';
import { Mutex } from 'redis-semaphore';
import { median } from '../lib/interleaved.js';

const [roundsText = '5', secondsText = '1', only] = process.argv.slice(2);
const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6399';
if (Number(new URL(url).port || 6379) === 6379) throw new Error('refusing to flush 6379');
const IN_FLIGHT = 64;
const TTL_MS = 10_000;
const KEYS = 10_000;

const admin = new Redis(url);
await admin.flushall();
const connection = await RedisConnection.open('cpu-cost', { url });
const locks = new LockService(connection, { ttlMs: TTL_MS, maxWaitMs: 30_000 });
await locks.onModuleInit();
const clients = {
  plain: new Redis(url),
  pipe: new Redis(url, { enableAutoPipelining: true }),
};
const releaseSha = (await admin.script(
  'LOAD',
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
)) as string;

type Section = (resource: string) => Promise<unknown>;
const subjects: Record<string, Section> = {
  redkit: async (resource) => {
    const lock = await locks.acquire(resource);
    await lock.release();
  },
};
for (const [mode, client] of Object.entries(clients)) {
  const redlock = new Redlock([client], { retryCount: -1 });
  redlock.on('error', () => undefined);
  subjects[`redlock[${mode}]`] = async (resource) => {
    const lock = await redlock.acquire([`r:${resource}`], TTL_MS);
    await lock.release();
  };
  subjects[`redis-semaphore[${mode}]`] = async (resource) => {
    const mutex = new Mutex(client, `s:${resource}`, {
      lockTimeout: TTL_MS,
      acquireTimeout: 30_000,
      refreshInterval: 0,
    });
    await mutex.acquire();
    await mutex.release();
  };
  subjects[`raw-2rt[${mode}]`] = async (resource) => {
    const token = randomUUID();
    if ((await client.set(`t:${resource}`, token, 'PX', TTL_MS, 'NX')) !== 'OK') throw new Error('held');
    await client.evalsha(releaseSha, 1, `t:${resource}`, token);
  };
}
const selected = only === undefined ? Object.keys(subjects) : only.split(',');
const resources = Array.from({ length: KEYS }, (_, index) => `uncontended:${index}`);

/** Server CPU seconds so far (user + system, main thread and all). */
async function serverCpu(): Promise<number> {
  const info = await admin.info('cpu');
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return read('used_cpu_user') + read('used_cpu_sys');
}

interface Sample {
  rate: number;
  clientUs: number;
  /** The system (kernel) part of clientUs: socket reads and writes. */
  clientSystemUs: number;
  serverUs: number;
}

async function sample(section: Section): Promise<Sample> {
  let seq = 0;
  let running = true;
  const caller = async () => {
    while (running) await section(resources[seq++ % KEYS] as string);
  };
  const callers = Array.from({ length: IN_FLIGHT }, caller);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const start = seq;
  const cpu = process.cpuUsage();
  const server = await serverCpu();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, Number(secondsText) * 1_000));
  const ops = seq - start;
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const serverUsed = (await serverCpu()) - server;
  running = false;
  await Promise.all(callers);
  return {
    rate: (ops * 1_000) / elapsed,
    clientUs: (used.user + used.system) / ops,
    clientSystemUs: used.system / ops,
    serverUs: (serverUsed * 1e6) / ops,
  };
}

const samples: Record<string, Sample[]> = {};
for (let round = 0; round < Number(roundsText); round += 1) {
  for (const name of selected) {
    const section = subjects[name];
    if (section === undefined) throw new Error(`no subject ${name}`);
    (samples[name] ??= []).push(await sample(section));
  }
}
for (const name of selected) {
  const list = samples[name] as Sample[];
  const of = (pick: (value: Sample) => number) => median(list.map(pick));
  console.log(
    `${name.padEnd(26)} ${Math.round(of((value) => value.rate))
      .toLocaleString('en-US')
      .padStart(8)} ops/s  client ${of((value) => value.clientUs).toFixed(1)} µs/op ` +
      `(system ${of((value) => value.clientSystemUs).toFixed(1)})  ` +
      `server ${of((value) => value.serverUs).toFixed(1)} µs/op`,
  );
}
await locks.onApplicationShutdown();
await connection.close();
await Promise.all([admin, ...Object.values(clients)].map((client) => client.quit()));
