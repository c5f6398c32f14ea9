// `npm run bench` runs every module's benchmark (bench/<module>.bench.ts or .mjs, alphabetically);
// `npm run bench -- cache lock` runs the named ones.
//
// 1. Builds libs/*/dist and apps/*/dist with swc (scripts/build.mjs): benchmarks import
//    '@redkit/<lib>', which Node resolves to the compiled dist through each package's exports, so
//    what is measured is what `npm start` runs.
// 2. For each module: starts a fresh redis-server on a free loopback port (no RDB, no AOF, its own
//    temp dir; never 6379), runs the benchmark in its own Node process with BENCH_REDIS_URL pointing
//    at it, then stops the server. The benchmark's TypeScript runs through bench/lib/register.mjs
//    (an swc loader using the repo's .swcrc); node also gets --expose-gc (a GC between rows) and
//    --enable-source-maps.
// 3. Exits non-zero if any benchmark failed.
//
// The markdown tables go to stdout and progress to stderr, so `npm run bench > bench.md` keeps just
// the tables. Results land in bench/results/<module>.json. BENCH_SECONDS (default 3) and
// BENCH_WARMUP_SECONDS (default 1) set the duration of each row.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';
import { findOnPath, startLocalRedis } from './local-redis.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(root, 'bench');
const register = join(benchDir, 'lib', 'register.mjs');
const BENCH_FILE = /^(.+)\.bench\.(ts|mjs)$/;
const signalNumbers = { SIGINT: 2, SIGTERM: 15 };
/** The benchmark process running now, if any. */
let current;
let interrupted;

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

/** module name -> bench file, for every bench/<module>.bench.{ts,mjs}. */
function findBenchmarks() {
  const found = new Map();
  for (const name of readdirSync(benchDir).sort()) {
    const match = BENCH_FILE.exec(name);
    if (match) found.set(match[1], join(benchDir, name));
  }
  return found;
}

/** A port the kernel considers free right now (listen on 0, read it, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A fresh redis-server on a free port; another port is tried if one is taken in between. */
async function startRedis() {
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    if (port === 6379) continue;
    try {
      return await startLocalRedis(port);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Runs one bench file in its own node process; resolves with its exit code. */
function runBenchmark(file, redisUrl) {
  const args = ['--enable-source-maps', '--expose-gc', '--import', register, file];
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, BENCH_REDIS_URL: redisUrl },
  });
  current = child;
  return new Promise((resolve) => {
    child.once('error', (error) => {
      console.error(`bench: could not start node: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      current = undefined;
      resolve(code ?? (signal ? 128 + (signalNumbers[signal] ?? 0) : 1));
    });
  });
}

// Ctrl+C reaches the benchmark too (same process group); wait for it to go, then stop Redis and
// leave. The redis-server runs in its own group, and local-redis.mjs also stops it on exit.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupted = signal;
    if (current) current.kill(signal);
    else process.exit(128 + signalNumbers[signal]);
  });
}

const available = findBenchmarks();
const requested = process.argv.slice(2);
if (available.size === 0) fail('no bench/<module>.bench.ts found');
const unknown = requested.filter((name) => !available.has(name));
if (unknown.length > 0) {
  fail(`no benchmark named ${unknown.join(', ')}; available: ${[...available.keys()].join(', ')}`);
}
const modules = requested.length > 0 ? [...new Set(requested)] : [...available.keys()];

if (!findOnPath('redis-server')) {
  fail('redis-server is not installed: apt-get install -y redis-server, or brew install redis');
}

try {
  const started = Date.now();
  const count = await build({ declarations: false });
  console.error(`bench: built ${count} files in ${Date.now() - started} ms`);
} catch (error) {
  const [codeFrame] = String(error?.message ?? error).split(/\n\s*Caused by:/);
  fail(`build failed: ${codeFrame.trimEnd()}`);
}

const failures = [];
for (const module of modules) {
  if (interrupted) break;
  const file = available.get(module);
  let redis;
  try {
    redis = await startRedis();
  } catch (error) {
    fail(`could not start redis-server for ${module}: ${error.message}`);
  }
  console.error(
    `bench: ${module}: ${relative(root, file)} on a fresh redis-server at ${redis.url} (pid ${redis.pid})`,
  );
  let code;
  try {
    code = await runBenchmark(file, redis.url);
  } finally {
    await redis.stop();
  }
  if (code !== 0) failures.push(`${module} (exit ${code})`);
}

if (interrupted) process.exit(128 + signalNumbers[interrupted]);
if (failures.length > 0) fail(`failed: ${failures.join(', ')}`);
