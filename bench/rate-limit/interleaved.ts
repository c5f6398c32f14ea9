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
// Peers and the limit at their best (bench/README.md): each on a plain and an auto-pipelined client;
// per round, the ratios divide by the faster of the two.
const raw = new Redis(url, { enableAutoPipelining: true });
const rawPlain = new Redis(url);
await raw.flushall();
const sha = createHash('sha1').update('return 1').digest('hex');
await raw.script('LOAD', 'return 1');
const flexibleOn = (client: Redis) =>
  new RateLimiterRedis({ storeClient: client, points: 250, duration: 1, keyPrefix: 'rlflx' });
const flexible = flexibleOn(raw);
const flexiblePlain = flexibleOn(rawPlain);
const flexibleCheck = (instance: RateLimiterRedis) => (key: string) =>
  instance.consume(key).catch((error: unknown) => {
    if (!(error instanceof RateLimiterRes)) throw error;
  });

const subjects: Record<string, (key: string) => Promise<unknown>> = {
  'raw-evalsha [auto-pipe]': (key) => raw.evalsha(sha, 1, key, '1'),
  'raw-evalsha [plain]': (key) => rawPlain.evalsha(sha, 1, key, '1'),
  'redkit-log': (key) => limiter.consume(key, log),
  'redkit-counter': (key) => limiter.consume(key, counter),
  'rate-limiter-flexible [auto-pipe]': flexibleCheck(flexible),
  'rate-limiter-flexible [plain]': flexibleCheck(flexiblePlain),
};
/** The best of a peer's two rows, per round. */
const best = (rates: Record<string, number[]>, family: string) =>
  (rates[`${family} [plain]`] as number[]).map((plain, index) =>
    Math.max(plain, (rates[`${family} [auto-pipe]`] as number[])[index]!),
  );
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
  const ratio = (name: string, family: string) => {
    const base = best(rates, family);
    return median((rates[name] as number[]).map((rate, index) => rate / base[index]!)).toFixed(2);
  };
  for (const name of Object.keys(subjects)) {
    console.log(
      `${scenario.padEnd(14)} ${name.padEnd(34)} median ${Math.round(median(rates[name] as number[]))
        .toLocaleString('en-US')
        .padStart(
          8,
        )} ops/s  ${ratio(name, 'raw-evalsha')}x raw best  ${ratio(name, 'rate-limiter-flexible')}x rlf best`,
    );
  }
}
await connection.close();
await raw.quit();
await rawPlain.quit();
