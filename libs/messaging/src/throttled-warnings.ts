import type { Logger } from '@nestjs/common';

/** At most one warning per this period for repeated failures of one kind, with a count of those skipped. */
const REPEAT_REPORT_MS = 30_000;

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Warnings that cannot flood the log while Redis is down: one per kind per 30 s, the next one saying
 * how many were skipped in between.
 */
export class ThrottledWarnings {
  private readonly last = new Map<string, { at: number; skipped: number }>();

  /**
   * `refused`: records `error` when Redis refused it for the ACL user (`RedisConnection.notePermission`,
   * which logs it once itself) and says so; such an error is not warned about again here.
   */
  constructor(
    private readonly logger: Logger,
    private readonly refused: (error: unknown) => boolean = () => false,
  ) {}

  report(kind: string, message: string, error?: unknown): void {
    if (error !== undefined && this.refused(error)) return;
    const now = Date.now();
    const last = this.last.get(kind);
    if (last && now - last.at < REPEAT_REPORT_MS) {
      last.skipped += 1;
      return;
    }
    const skipped = last && last.skipped > 0 ? ` (${last.skipped} more since the last report)` : '';
    this.logger.warn(`${message}${error === undefined ? '' : `: ${describeError(error)}`}${skipped}`);
    this.last.set(kind, { at: now, skipped: 0 });
  }
}
