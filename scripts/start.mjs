// `npm start`: runs the sample order-book API, with a Redis to talk to.
//
// 1. Probes REDIS_URL (default redis://127.0.0.1:6379) with a raw PING; any RESP reply counts.
// 2. If nothing answers there and the URL is a plain redis:// one on this machine, starts a
//    throwaway redis-server on that port (no RDB, no AOF, a fresh temp dir) and stops it when
//    the API stops. If it cannot, it exits 1 with one line saying what to do, never a stack.
// 3. Builds libs/*/dist and apps/*/dist with swc (scripts/build.mjs).
// 4. Runs apps/orderbook-api/dist/main.js with REDIS_URL set, forwards SIGINT, SIGTERM and
//    SIGHUP to it, and exits with its exit code.
//
// `npm start -- --demo` (or DEMO=1) seeds two markets with a few levels at startup, so that the
// book has data at once (markets that already have resting orders are left alone).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';
import {
  findOnPath,
  isLoopbackHost,
  parseRedisUrl,
  probeRedis,
  redactRedisUrl,
  startLocalRedis,
} from './local-redis.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const apiEntry = join(root, 'apps/orderbook-api/dist/main.js');
const forwardedSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const unknownArguments = process.argv.slice(2).filter((argument) => argument !== '--demo');
if (unknownArguments.length > 0) {
  console.error(`redkit: unknown argument ${unknownArguments[0]}; the only option is --demo`);
  process.exit(1);
}
const demo = process.argv.includes('--demo');
const shownUrl = redactRedisUrl(redisUrl);

/** @type {Awaited<ReturnType<typeof startLocalRedis>> | undefined} */
let localRedis;
/** @type {import('node:child_process').ChildProcess | undefined} */
let api;

function fail(message) {
  console.error(`redkit: ${message}`);
  process.exit(1);
}

// The API runs in its own process group, so a Ctrl+C reaches it only through here. `npm start`
// forwards the terminal's SIGINT to us as well, so one key press can arrive twice: a repeat
// within a second is dropped, and a later one is passed on (Nest then exits without waiting).
const lastSignalAt = new Map();
for (const signal of forwardedSignals) {
  process.on(signal, () => {
    // Before the API runs, just leave: local-redis.mjs stops its server on exit.
    if (!api) process.exit(128 + constants.signals[signal]);
    const now = Date.now();
    if (now - (lastSignalAt.get(signal) ?? 0) < 1000) return;
    lastSignalAt.set(signal, now);
    api.kill(signal);
  });
}

async function ensureRedis() {
  let target;
  try {
    target = parseRedisUrl(redisUrl);
  } catch (error) {
    fail(`REDIS_URL is not usable: ${error.message}`);
  }
  if (await probeRedis(redisUrl, 1000)) return;

  // A local server speaks plain TCP, so it can only stand in for a redis:// URL on this machine.
  if (!isLoopbackHost(target.host) || target.tls) {
    fail(`nothing answers at ${shownUrl}. Start Redis there or set REDIS_URL.`);
  }
  if (!findOnPath('redis-server')) {
    fail(
      `nothing answers at ${shownUrl} and redis-server is not installed. Install it ` +
        '(apt-get install -y redis-server, or brew install redis) or set REDIS_URL to a running Redis.',
    );
  }
  try {
    localRedis = await startLocalRedis(target.port, { bind: target.host === '::1' ? '::1' : '127.0.0.1' });
  } catch (error) {
    fail(`nothing answers at ${shownUrl} and a local redis-server did not start: ${error.message}`);
  }
  console.log(
    `redkit: nothing answered at ${shownUrl}, started a local redis-server (pid ${localRedis.pid}); ` +
      'it stops when the API stops.',
  );
}

await ensureRedis();

try {
  await build({ declarations: false });
} catch (error) {
  // swc's message carries the code frame we want, then a Rust backtrace we don't.
  const [codeFrame] = String(error?.message ?? error).split(/\n\s*Caused by:/);
  fail(`build failed: ${codeFrame.trimEnd()}`);
}

api = spawn(process.execPath, [apiEntry], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, REDIS_URL: redisUrl, ...(demo ? { DEMO: '1' } : {}) },
  detached: true,
});
api.once('error', (error) => fail(`could not start the API: ${error.message}`));
api.once('exit', async (code, signal) => {
  await localRedis?.stop();
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
