import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killOnExit, releaseOnExit } from './exit-cleanup.js';
import { freePort } from './free-port.js';
import { sendRawCommand, RedisErrorReply } from './raw-command.js';
import { requireRedisBinaries } from './redis-binaries.js';
import { forgetServerPid, recordServerPid, runDirectory } from './run-directory.js';
import type { TlsFiles } from './tls-files.js';

/** How a RedisServer is configured. Every server is loopback-only and keeps nothing on disk. */
export interface RedisServerOptions {
  /** Serve TLS only (the plain port is off), with these files; clients are not asked for a certificate. */
  tls?: TlsFiles;
  /** Add this ACL user with every permission and disable the `default` user. */
  acl?: { username: string; password: string };
  /** Run as a cluster node (cluster-enabled, its own nodes.conf and cluster bus port). */
  cluster?: boolean;
  /**
   * Run as a Sentinel monitoring this master under `name`, with `quorum` (default 1) and per-master
   * `settings` (`sentinel <setting> <name> <value>` lines: `down-after-milliseconds`, `failover-timeout`).
   */
  sentinel?: {
    name: string;
    master: { host: string; port: number };
    quorum?: number;
    settings?: Record<string, string | number>;
  };
  /** Extra redis-server arguments, appended last so they override the harness's. */
  args?: string[];
}

/** Start (and restart) gives up after this long, so a broken server fails a test instead of hanging it. */
const STARTUP_TIMEOUT_MS = 10_000;
/** A new port is tried this many times when another process took the chosen one before redis bound it. */
const PORT_ATTEMPTS = 5;
/** stop() escalates from SIGTERM to SIGKILL after this long. */
const STOP_GRACE_MS = 3_000;
const LOG_TAIL_LINES = 20;

/** A startup failure; `portTaken` says a retry on another port may succeed. */
class RedisServerStartError extends Error {
  override readonly name = 'RedisServerStartError';
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

/**
 * A real redis-server process on a free loopback port, owned by the test that started it.
 *
 * It saves nothing (no RDB, no AOF) and writes its log to its own temp directory, whose tail is quoted
 * when it fails to start. Its pid is recorded in the run directory so that globalTeardown can kill it if
 * the owning process crashes.
 *
 * @example
 * const server = await RedisServer.start();
 * try {
 *   const client = new Redis(server.url);
 *   // ...
 * } finally {
 *   await server.stop();
 * }
 */
export class RedisServer {
  /** Always loopback. */
  readonly host = '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, or `rediss://` when the server speaks TLS. */
  readonly url: string;

  /** Replaced by restart({ args }), so a restarted primary can come back as a replica. */
  private options: RedisServerOptions;
  private readonly directory: string;
  /** The cluster bus port, chosen once so that a restarted node keeps its identity in nodes.conf. */
  private readonly clusterPort: number | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private paused = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    port: number,
    clusterPort: number | undefined,
    options: RedisServerOptions,
    directory: string,
  ) {
    this.port = port;
    this.clusterPort = clusterPort;
    this.options = options;
    this.directory = directory;
    this.url = `${options.tls ? 'rediss' : 'redis'}://${this.host}:${port}`;
  }

  /**
   * Starts a redis-server on a free port and resolves once it answers PING (or asks for
   * authentication, when `acl` is set). Rejects within about ten seconds, with the server's log tail,
   * if it does not come up.
   */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    requireRedisBinaries();
    validateAcl(options.acl);
    const directory = await mkdtemp(join(runDirectory(), 'redis-'));
    if (options.acl) await writeFile(join(directory, 'users.acl'), aclFile(options.acl));
    if (options.sentinel) {
      const { name, master, quorum = 1, settings = {} } = options.sentinel;
      const lines = [
        // Every address is an IP: no DNS lookup may slow a failover down.
        'sentinel resolve-hostnames no',
        `sentinel monitor ${name} ${master.host} ${master.port} ${quorum}`,
        ...Object.entries(settings).map(([setting, value]) => `sentinel ${setting} ${name} ${value}`),
      ];
      // Sentinel rewrites its config file, so it gets one of its own in the server's directory.
      await writeFile(join(directory, 'sentinel.conf'), `${lines.join('\n')}\n`);
    }
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const port = await freePort();
      const clusterPort = options.cluster ? await freePort() : undefined;
      const server = new RedisServer(port, clusterPort, options, directory);
      try {
        await server.launch();
        return server;
      } catch (error) {
        lastError = error;
        if (!(error instanceof RedisServerStartError && error.portTaken)) break;
      }
    }
    await rm(directory, { recursive: true, force: true });
    throw lastError;
  }

  /** The redis-server process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** True from a successful start until the process is seen to exit (a paused server is running). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Freezes the server (SIGSTOP): connections still open, nothing is answered until resume(). */
  pause(): void {
    this.signal('SIGSTOP');
    this.paused = true;
  }

  /** Lets a paused server carry on (SIGCONT). */
  resume(): void {
    this.signal('SIGCONT');
    this.paused = false;
  }

  /** Kills the server abruptly (SIGKILL), as a crash would, and resolves once it has exited. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.waitForExit();
  }

  /**
   * Starts the server again on the same port with the same options, after a kill() (it kills a running
   * server first). The dataset starts empty; a cluster node keeps its nodes.conf, so it rejoins as
   * itself. `args`, when given, replace the extra arguments for this launch and later ones (a killed
   * primary restarted with `['--replicaof', host, port]`).
   */
  async restart(options: { args?: string[] } = {}): Promise<void> {
    if (this.stopping) throw new Error(`RedisServer ${this.url} was stopped; start a new one instead`);
    await this.kill();
    if (options.args) this.options = { ...this.options, args: options.args };
    // The port can be briefly held by someone else (a client's ephemeral source port); it is ours to
    // reclaim, so wait for it rather than fail.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launch();
        return;
      } catch (error) {
        const portTaken = error instanceof RedisServerStartError && error.portTaken;
        if (!portTaken || attempt === PORT_ATTEMPTS) throw error;
        await sleep(200);
      }
    }
  }

  /**
   * Ends the server for good: resumes it if paused, sends SIGTERM (SIGKILL if it lingers), waits for the
   * exit and removes its temp directory. Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.running) {
      if (this.paused) this.resume();
      this.child?.kill('SIGTERM');
      await Promise.race([this.waitForExit(), sleep(STOP_GRACE_MS, undefined, { ref: false })]);
      await this.kill();
    }
    await rm(this.directory, { recursive: true, force: true });
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.running) throw new Error(`RedisServer ${this.url} is not running`);
    this.child?.kill(signal);
  }

  /** Holds the event loop open (the child is unref'd otherwise) until the process has exited. */
  private async waitForExit(): Promise<void> {
    this.child?.ref();
    await this.exited;
  }

  /** Spawns redis-server and waits until it is ready; on failure the process is gone before it throws. */
  private async launch(): Promise<void> {
    const logFile = join(this.directory, 'redis.log');
    const outputFile = join(this.directory, 'redis.output.log');
    // A fresh log per launch, so a failed restart quotes its own lines, not the previous run's.
    await writeFile(logFile, '');
    // stdout and stderr go to a file rather than a pipe: no handle of ours to keep the worker alive,
    // and errors printed before the log file opens (a bad argument) are still there to quote.
    const output = openSync(outputFile, 'w');
    let child: ChildProcess;
    try {
      child = spawn('redis-server', this.arguments(logFile), { stdio: ['ignore', output, output] });
    } finally {
      closeSync(output);
    }
    let exitReason: string | undefined;
    this.child = child;
    this.paused = false;
    this.exited = new Promise<void>((resolve) => {
      const onEnd = (reason: string) => {
        if (exitReason !== undefined) return;
        exitReason = reason;
        if (child.pid !== undefined) forgetServerPid(child.pid);
        releaseOnExit(child);
        resolve();
      };
      child.once('error', (error) => onEnd(`spawn failed: ${error.message}`));
      child.once('exit', (code, signal) =>
        onEnd(signal ? `killed by ${signal}` : `exited with code ${code}`),
      );
    });
    if (child.pid !== undefined) {
      recordServerPid(child.pid, this.port);
      killOnExit(child);
    }
    // A server nobody stops must not keep a jest worker alive; stop() and kill() ref it while waiting.
    child.unref();

    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (exitReason !== undefined) {
        const log = readLog(logFile);
        throw new RedisServerStartError(
          this.startFailure(`redis-server ${exitReason}`, [logFile, outputFile]),
          log.includes('Address already in use'),
        );
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new RedisServerStartError(
          this.startFailure(`not ready after ${STARTUP_TIMEOUT_MS} ms`, [logFile, outputFile]),
          false,
        );
      }
      // The log line proves that this process bound the port: a PONG alone could come from another
      // server that took the port while ours failed to bind.
      // (A Sentinel logs its mode and port instead.)
      const readyLine = this.options.sentinel
        ? `Running mode=sentinel, port=${this.port}.`
        : 'Ready to accept connections';
      if (readLog(logFile).includes(readyLine) && (await this.answersPing())) return;
      await sleep(15);
    }
  }

  private async answersPing(): Promise<boolean> {
    const tls = this.options.tls ? { ca: readFileSync(this.options.tls.caCert) } : undefined;
    try {
      const reply = await sendRawCommand({ host: this.host, port: this.port, tls, timeoutMs: 500 }, ['PING']);
      return reply === 'PONG';
    } catch (error) {
      // With the default user off an unauthenticated PING is refused, which still proves the server is up.
      return error instanceof RedisErrorReply && error.message.startsWith('NOAUTH');
    }
  }

  private arguments(logFile: string): string[] {
    const { tls, acl, cluster, sentinel, args = [] } = this.options;
    const directory = this.directory;
    const serverArgs = [
      ...(sentinel ? [join(directory, 'sentinel.conf'), '--sentinel'] : []),
      ...['--bind', '127.0.0.1', '--daemonize', 'no'],
      ...['--save', '', '--appendonly', 'no'],
      ...['--dir', directory, '--logfile', logFile],
      // Exit at once on SIGTERM even when replicas lag, so stop() stays fast whatever a test set up.
      ...['--shutdown-on-sigterm', 'nosave', 'now'],
    ];
    if (tls) {
      serverArgs.push('--port', '0', '--tls-port', String(this.port));
      serverArgs.push('--tls-cert-file', tls.serverCert, '--tls-key-file', tls.serverKey);
      serverArgs.push('--tls-ca-cert-file', tls.caCert, '--tls-auth-clients', 'no');
    } else {
      serverArgs.push('--port', String(this.port));
    }
    if (acl) serverArgs.push('--aclfile', join(directory, 'users.acl'));
    if (cluster) {
      serverArgs.push('--cluster-enabled', 'yes', '--cluster-config-file', join(directory, 'nodes.conf'));
      // An explicit bus port: the default (port + 10000) overflows for ports above 55535.
      serverArgs.push('--cluster-port', String(this.clusterPort));
      if (tls) serverArgs.push('--tls-cluster', 'yes');
    }
    return [...serverArgs, ...args];
  }

  /** The error message: what went wrong, then the tail of each non-empty output file. */
  private startFailure(reason: string, files: string[]): string {
    let message = `redis-server on ${this.host}:${this.port} did not start: ${reason}`;
    for (const file of files) {
      const tail = readLog(file).trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
      if (tail) message += `\n--- last lines of ${file} ---\n${tail}`;
    }
    return message;
  }
}

function readLog(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
}

/** ACL rules are space-separated, so a user name with whitespace would silently mean something else. */
function validateAcl(acl: RedisServerOptions['acl']): void {
  if (!acl) return;
  if (!/^\S+$/.test(acl.username)) {
    throw new Error('RedisServerOptions.acl.username must be non-empty, without whitespace');
  }
  if (acl.password === '') throw new Error('RedisServerOptions.acl.password must be non-empty');
}

/**
 * The password goes in as its SHA-256 (`#<hex>`) rather than `>password`, so that any password works,
 * spaces included, and it never appears in clear in the server's files.
 */
function aclFile(acl: { username: string; password: string }): string {
  const passwordHash = createHash('sha256').update(acl.password).digest('hex');
  const user = `user ${acl.username} on #${passwordHash} ~* &* +@all\n`;
  return acl.username === 'default' ? user : `user default off\n${user}`;
}
