// Interleaved rounds (not part of the suite): every subject runs ROUND_SECONDS in turn, ROUNDS times,
// in one process against one server, and the median of the per-round ratios is printed, which is
// steadier on a shared machine than one row per subject. Point BENCH_REDIS_URL at a scratch server
// (it is flushed). Usage:
//   node --conditions=redkit-source --import ./bench/lib/register.mjs bench/rate-limit/interleaved.ts [rounds] [seconds]
import 'reflect-metadata';

import { createHash } from 'node:crypto';

import { RateLimiterService } from '@redkit/rate-limit';
import { RedisConnection } from '@redkit/redis';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { median, rateOf } from '../lib/interleaved.js';

const [roundsText = '5', secondsText = '1'] = process.argv.slice(2);
const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6399';
if (Number(new URL(url).port || 6379) === 6379) throw new Error('refusing to flush 6379');
const IN_FLIGHT = 64;

const connection = await RedisConnection.open('interleaved', { url });
const limiter = new RateLimiterService(connection);
const log = limiter.policy({ name: 'bench', limit: 250, windowMs: 1_000 });
const counter = limiter.policy({
  name: 'bench',
  limit: 250,
  windowMs: 1_000,
  algorithm: 'sliding-counter',
});
const raw = new Redis(url, { enableAutoPipelining: true });
await raw.flushall();
const sha = createHash('sha1').update('return 1').digest('hex');
await raw.script('LOAD', 'return 1');
const flexible = new RateLimiterRedis({ storeClient: raw, points: 250, duration: 1, keyPrefix: 'rlflx' });

const subjects: Record<string, (key: string) => Promise<unknown>> = {
  'raw-evalsha': (key) => raw.evalsha(sha, 1, key, '1'),
  'redkit-log': (key) => limiter.consume(key, log),
  'redkit-counter': (key) => limiter.consume(key, counter),
  'rate-limiter-flexible': (key) =>
    flexible.consume(key).catch((error: unknown) => {
      if (!(error instanceof RateLimiterRes)) throw error;
    }),
};
const keys = Array.from({ length: 1_000 }, (_, index) => `client-${index}`);
const scenarios: Record<string, (seq: number) => string> = {
  'distinct-keys': (seq) => keys[seq % 1_000] as string,
  'hot-key': () => 'hot-client',
};

const measure = (check: (key: string) => Promise<unknown>, keyOf: (seq: number) => string) =>
  rateOf((seq) => check(keyOf(seq)), Number(secondsText), IN_FLIGHT);

for (const [scenario, keyOf] of Object.entries(scenarios)) {
  const rates: Record<string, number[]> = {};
  for (let round = 0; round < Number(roundsText); round += 1) {
    for (const [name, check] of Object.entries(subjects)) {
      (rates[name] ??= []).push(await measure(check, keyOf));
    }
  }
  const ratio = (name: string, base: string) =>
    median((rates[name] as number[]).map((rate, index) => rate / (rates[base] as number[])[index]!)).toFixed(
      2,
    );
  for (const name of Object.keys(subjects)) {
    console.log(
      `${scenario.padEnd(14)} ${name.padEnd(22)} median ${Math.round(median(rates[name] as number[]))
        .toLocaleString('en-US')
        .padStart(
          8,
        )} ops/s  ${ratio(name, 'raw-evalsha')}x raw  ${ratio(name, 'rate-limiter-flexible')}x rlf`,
    );
  }
}
await connection.close();
await raw.quit();
