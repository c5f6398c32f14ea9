import type { Cluster, Command, Redis } from 'ioredis';

/** What this module reads and writes on an ioredis Command; `_commandTimeoutTimer` is private to ioredis. */
interface TrackedCommand {
  isResolved: boolean;
  reject(error: Error): void;
  _commandTimeoutTimer?: unknown;
}

/**
 * Stands in for ioredis's per-command timer. Node's clearTimeout ignores it, and ioredis only arms
 * its own timer when this field is empty.
 */
const DEADLINE_TRACKED = Object.freeze({ redkit: 'deadline tracked' });

/**
 * How often the deadlines are swept while commands are in flight (the timer stops when none are): a
 * tenth of the timeout, from 10 to 50 ms, so a command times out at most a tenth late and answered
 * ones are let go of within 50 ms.
 */
function sweepInterval(timeoutMs: number): number {
  return Math.min(50, Math.max(10, Math.floor(timeoutMs / 10)));
}

/**
 * Bounds every command with one sweeping timer per connection instead of one timer per command.
 * ioredis's `commandTimeout` creates and clears a timer for each command, which costs 10-25 % of a
 * GET's throughput at high rates; here a command joins a FIFO (deadlines are in send order) and a
 * single unref'd interval rejects the expired ones with ioredis's own "Command timed out". A command
 * times out between `timeoutMs` and `timeoutMs` plus one tick ({@link sweepInterval}).
 *
 * Each sweep also lets go of the commands answered since the last one: the queue holds the commands
 * in flight and at most one tick's worth of answered ones, so an answered command (with its keys,
 * arguments and reply) dies young instead of being kept, and copied by the garbage collector, until
 * thousands more have passed (that cost a lock benchmark 11-13 % of its client CPU).
 */
export class CommandDeadlines {
  private commands: TrackedCommand[] = [];
  private deadlines: number[] = [];
  private timer?: NodeJS.Timeout;
  private readonly tickMs: number;

  constructor(private readonly timeoutMs: number) {
    this.tickMs = sweepInterval(timeoutMs);
  }

  track(command: TrackedCommand): void {
    if (command._commandTimeoutTimer !== undefined) return;
    command._commandTimeoutTimer = DEADLINE_TRACKED;
    this.commands.push(command);
    this.deadlines.push(performance.now() + this.timeoutMs);
    this.timer ??= setInterval(() => this.sweep(), this.tickMs).unref();
  }

  private sweep(): void {
    const now = performance.now();
    const { commands, deadlines } = this;
    let head = 0;
    while (head < commands.length) {
      const command = commands[head] as TrackedCommand;
      if (!command.isResolved) {
        if ((deadlines[head] as number) > now) break;
        command.reject(new Error('Command timed out'));
      }
      head += 1;
    }
    if (head === commands.length) {
      this.commands = [];
      this.deadlines = [];
      clearInterval(this.timer);
      this.timer = undefined;
    } else if (head > 0) {
      // What is left is what is still in flight: copying it is cheap, keeping the answered is not.
      this.commands = commands.slice(head);
      this.deadlines = deadlines.slice(head);
    }
  }
}

/** What this module reads and wraps on an ioredis Pipeline (auto-pipelines are Pipelines too). */
interface TrackedPipeline {
  promise: Promise<unknown>;
  reject(error: Error): void;
  exec(...args: unknown[]): unknown;
}

/**
 * Routes every command the client accepts through {@link CommandDeadlines}. On a Cluster this also
 * bounds commands still waiting for the cluster itself (slots refresh, reconnect), which ioredis
 * leaves unbounded because it arms `commandTimeout` only once a node is chosen, and two waits that
 * hold no command at all (see {@link boundClusterWaits}).
 */
export function installCommandDeadlines(client: Redis | Cluster, timeoutMs: number): void {
  const deadlines = new CommandDeadlines(timeoutMs);
  const send = client.sendCommand.bind(client) as (...args: unknown[]) => unknown;
  client.sendCommand = ((command: Command, ...rest: unknown[]) => {
    deadlines.track(command as unknown as TrackedCommand);
    return send(command, ...rest);
  }) as typeof client.sendCommand;
  if (client.isCluster) boundClusterWaits(client as Cluster, deadlines, timeoutMs);
}

/**
 * On a Cluster, what a caller awaits is not always a command ioredis will time out:
 *
 * - An auto-pipelined command's caller awaits its Pipeline. When a pipeline's commands fail with
 *   "Connection is closed." (a node restarted), ioredis parks the whole pipeline until a slots
 *   refresh calls it back, and re-sends it then; if that never happens, its callers wait forever
 *   while the cluster reports `ready`. So every pipeline's `exec` joins the deadlines too: past the
 *   timeout the pipeline is rejected, and with it each of its callers.
 * - Before the first slots refresh, commands and pipelines wait in `delayUntilReady` for a `ready`
 *   event that may never come; that wait gets the timeout too.
 */
function boundClusterWaits(cluster: Cluster, deadlines: CommandDeadlines, timeoutMs: number): void {
  const createPipeline = cluster.pipeline.bind(cluster) as (...args: unknown[]) => unknown;
  cluster.pipeline = ((...args: unknown[]) => {
    const pipeline = createPipeline(...args) as TrackedPipeline;
    const exec = pipeline.exec;
    pipeline.exec = function (this: TrackedPipeline, ...execArgs: unknown[]) {
      // ioredis calls exec again on its own retries; the first call starts the one deadline.
      pipeline.exec = exec;
      const tracked: TrackedCommand = { isResolved: false, reject: (error) => pipeline.reject(error) };
      const settle = () => {
        tracked.isResolved = true;
      };
      pipeline.promise.then(settle, settle);
      deadlines.track(tracked);
      return exec.apply(this, execArgs);
    };
    return pipeline;
  }) as unknown as typeof cluster.pipeline;

  const delayUntilReady = cluster.delayUntilReady.bind(cluster);
  cluster.delayUntilReady = (callback: (error?: Error | null) => void) => {
    let waiting = true;
    const timer = setTimeout(() => {
      waiting = false;
      callback(new Error('Command timed out'));
    }, timeoutMs);
    timer.unref();
    delayUntilReady((error?: Error | null) => {
      if (!waiting) return;
      waiting = false;
      clearTimeout(timer);
      callback(error);
    });
  };
}
