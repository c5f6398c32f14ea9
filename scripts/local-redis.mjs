// Finding or starting a Redis for local runs. `npm start` uses it to fall back to a throwaway
// redis-server when nothing answers at REDIS_URL; the bench runner and tests can reuse it.
// Plain ESM JavaScript with no dependencies, so it runs before anything is built.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import tls from 'node:tls';

/** Stoppers of the servers this process started and has not stopped yet. */
const running = new Set();
// Servers started here go when this process exits (a signal with no handler skips this).
process.on('exit', () => running.forEach((stopSync) => stopSync()));

/** First bytes of every RESP2 and RESP3 reply type. */
const RESP_TYPE_BYTES = new Set('+-:$*_,#!=(%~>|'.split(''));

/**
 * Splits a redis:// or rediss:// URL into what a socket needs.
 * @param {string} url
 * @returns {{ host: string, port: number, tls: boolean }}
 * @throws {Error} when the URL is not a redis:// or rediss:// URL
 */
export function parseRedisUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a valid URL: ${url}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`expected a redis:// or rediss:// URL, got ${parsed.protocol}//`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: Number(parsed.port || 6379), tls: parsed.protocol === 'rediss:' };
}

/** The URL with its password replaced by `***`, fit for a log line. */
export function redactRedisUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** True for 127.0.0.1 (and the rest of 127/8), localhost and ::1. */
export function isLoopbackHost(host) {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The full path of `name` on PATH, or undefined. */
export function findOnPath(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Sends `PING` over a raw socket (TLS for rediss://) and waits for the first reply.
 * Any RESP reply counts, `-NOAUTH` included: something answers, and credentials are the
 * client's business. The TLS probe does not verify certificates, for the same reason.
 * @param {string} url redis:// or rediss:// URL
 * @param {number} [timeoutMs=1000] overall deadline for connect + reply
 * @returns {Promise<boolean>} true if a Redis-speaking server answered in time
 */
export function probeRedis(url, timeoutMs = 1000) {
  const { host, port, tls: useTls } = parseRedisUrl(url);
  return new Promise((resolve) => {
    const socket = useTls
      ? tls.connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    const finish = (answered) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once(useTls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => finish(RESP_TYPE_BYTES.has(String.fromCharCode(chunk[0]))));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

/**
 * Starts a throwaway `redis-server` on a loopback port: no RDB, no AOF, a fresh temp dir, and
 * its own process group, so a Ctrl+C meant for the app does not take Redis down first. It is
 * stopped when this process exits, if `stop()` has not been called by then.
 * Resolves once it answers PING.
 * @param {number} port
 * @param {{ bind?: string, timeoutMs?: number, command?: string }} [options]
 * @returns {Promise<{ pid: number, port: number, url: string, dir: string, stop(): Promise<void>, stopSync(): void }>}
 * @throws {Error} when redis-server exits early or does not answer within `timeoutMs`
 */
export async function startLocalRedis(port, { bind = '127.0.0.1', timeoutMs = 5000, command } = {}) {
  // Checked first, or a probe could mistake whatever holds the port for the new server.
  await assertPortFree(port, bind);
  const dir = mkdtempSync(join(tmpdir(), 'redkit-redis-'));
  const logFile = join(dir, 'redis.log');
  const args = ['--port', String(port), '--bind', bind, '--save', '', '--appendonly', 'no'];
  const child = spawn(command ?? 'redis-server', [...args, '--dir', dir, '--logfile', logFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  // Config errors go to stderr before the log file is open; keep the tail to explain an exit.
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4096)));
  let exited = false;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(signal ?? `exit code ${code}`);
    });
    child.once('error', (error) => {
      exited = true;
      resolve(error.message);
    });
  });
  const url = `redis://${bind.includes(':') ? `[${bind}]` : bind}:${port}`;

  const stopSync = () => {
    running.delete(stopSync);
    if (!exited && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    running.delete(stopSync);
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  running.add(stopSync);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await Promise.race([exit, probeRedis(url, 250)]);
    if (result === true) return { pid: child.pid, port, url, dir, stop, stopSync };
    if (typeof result === 'string') {
      const reason = lastLine(stderr) ?? lastLine(readLog(logFile)) ?? result;
      stopSync();
      throw new Error(`redis-server on port ${port} exited: ${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

/** Resolves if a TCP server could listen on host:port right now, rejects saying why not. */
export function assertPortFree(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is already in use' : error.message;
      reject(new Error(`cannot listen on ${host}:${port}: ${why}`));
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

function readLog(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function lastLine(text) {
  const line = text.trim().split('\n').at(-1);
  // Redis log lines start with "pid:role date time level"; keep just the message.
  return line?.replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ [-.*#] /, '') || undefined;
}
