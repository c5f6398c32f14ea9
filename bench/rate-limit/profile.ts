// Profiling helper (not part of the suite): ops/s and CPU per check of one subject against
// BENCH_REDIS_URL. Usage: node --conditions=redkit-source --import ./bench/lib/register.mjs bench/rate-limit/profile.ts <log|counter|raw> <distinct|hot> [seconds]
// Env: LIMIT (per second, default 100; up to 256 the log is packed, above it a sorted set),
// COALESCE=0 for one script call per check.
import 'reflect-metadata';

import { createHash } from 'node:crypto';

import { RateLimiterService } from '@redkit/rate-limit';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';

const [subject = 'log', scenario = 'distinct', secondsText = '3'] = process.argv.slice(2);
const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6399';
const admin = new Redis(url);
const connection = await RedisConnection.open('profile', { url });
const limiter = new RateLimiterService(connection, { coalesce: process.env.COALESCE !== '0' });
const policy = limiter.policy({
  name: 'bench',
  limit: Number(process.env.LIMIT ?? 100),
  windowMs: 1_000,
  algorithm: subject === 'counter' ? 'sliding-counter' : 'sliding-log',
});
const raw = new Redis(url, { enableAutoPipelining: true });
const sha = createHash('sha1').update('return 1').digest('hex');
await raw.script('LOAD', 'return 1');
const check =
  subject === 'raw'
    ? (key: string) => raw.evalsha(sha, 1, key, '1')
    : (key: string) => limiter.consume(key, policy);
const keys = Array.from({ length: 1_000 }, (_, index) => `client-${index}`);
async function serverCpu(): Promise<number> {
  const info = await admin.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  return user + sys;
}
let ops = 0;
let running = true;
const caller = async () => {
  while (running) {
    await check(scenario === 'hot' ? 'hot' : (keys[ops % 1_000] as string));
    ops += 1;
  }
};
const callers = Array.from({ length: 64 }, caller);
await new Promise((resolve) => setTimeout(resolve, 1_000));
const startOps = ops;
const startCpu = process.cpuUsage();
const startServer = await serverCpu();
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, Number(secondsText) * 1_000));
const done = ops - startOps;
const elapsed = (performance.now() - started) / 1_000;
const cpu = process.cpuUsage(startCpu);
const server = (await serverCpu()) - startServer;
running = false;
await Promise.all(callers);
console.log(
  `${subject} ${scenario}: ${Math.round(done / elapsed)} ops/s, client ${((cpu.user + cpu.system) / done) | 0} µs/check, server ${((server * 1e6) / done).toFixed(1)} µs/check`,
);
await connection.close();
await raw.quit();
await admin.quit();
