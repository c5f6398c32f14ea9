import type {
  MissedWindow,
  MissedWindowPoll,
  PollWhileDisconnectedOptions,
  ReconnectInfo,
} from './event-bus.types.js';

/**
 * The polling fallback of one poll: while the event bus is down it runs the poll every `everyMs`
 * over the time since what it last covered (reaching back `overlapMs` further), and once more when
 * the bus listens again, up to that moment, so the windows leave no gap between the loss and the
 * first event received again. One poll at a time: a tick that finds one running is skipped (its time goes to the next).
 */
export class DisconnectedPoller {
  /** Start of what is not polled yet; undefined while the bus listens. */
  private from?: Date;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Counts outages, so that a final poll of one never clears the start of the next. */
  private outage = 0;

  constructor(
    private readonly poll: MissedWindowPoll,
    private readonly options: Required<PollWhileDisconnectedOptions>,
    /** Told of each poll run: with what it threw, or nothing. */
    private readonly ran: (error?: unknown) => void,
  ) {}

  disconnected(at: Date): void {
    if (this.from !== undefined) return;
    this.from = at;
    this.outage += 1;
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.running === undefined) void this.run(new Date(), false);
    }, this.options.everyMs);
    this.timer.unref();
  }

  async reconnected(info: ReconnectInfo): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.run(info.reconnectedAt, true);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.from = undefined;
  }

  private run(to: Date, final: boolean): Promise<void> {
    const { from } = this;
    if (from === undefined) return Promise.resolve();
    const outage = this.outage;
    const done = () => {
      if (this.outage !== outage) return;
      this.from = final ? undefined : to;
    };
    if (!this.options.when()) {
      // Not ours to poll (a follower): the leader covers it. The window stays open for a later tick.
      if (final) done();
      return Promise.resolve();
    }
    const window: MissedWindow = { from: new Date(from.getTime() - this.options.overlapMs), to, final };
    const running = (async () => {
      try {
        await this.poll(window);
        done();
        this.ran();
      } catch (error) {
        this.ran(error ?? new Error('poll rejected'));
        // A failed final poll has no next tick: its window is lost, which the warning says.
        if (final) done();
      }
    })();
    // Cleared once settled (a poll that throws at once settles it before this line runs).
    const tracked: Promise<void> = running.finally(() => {
      if (this.running === tracked) this.running = undefined;
    });
    this.running = tracked;
    return running;
  }
}
