import { Inject, Injectable, Logger } from '@nestjs/common';

import type { ConsoleAction } from './console-api.types.js';
import { CONSOLE_ACTION_EVENT, CONSOLE_LOG_CONTEXT } from './console.constants.js';
import { ConsolePeers } from './console-peers.js';

/** One audited action, as the log line and the `console.action` event carry it. */
export interface ConsoleAuditRecord {
  /** Who: the app's user (`id`, `name`, `sub`), `api-key`, or `anonymous`. */
  who: string;
  action: ConsoleAction | 'login' | 'logout';
  stream?: string;
  group?: string;
  /** `ok`, `refused` (by the console's policy or checks), or `failed` (an error answered). */
  outcome: 'ok' | 'refused' | 'failed';
  /** What happened: counts, ids, or why it was refused or failed. */
  detail: string;
  /** ISO 8601. */
  at: string;
}

/**
 * The audit trail: a log line per action (context `Console`) naming who did what to which stream
 * and how it ended, and the same as a `console.action` event on the app's EventBus when
 * @redkit/messaging is there (published fire-and-forget: an action never fails because the bus did).
 */
@Injectable()
export class ConsoleAudit {
  private readonly logger = new Logger(CONSOLE_LOG_CONTEXT);

  constructor(@Inject(ConsolePeers) private readonly peers: ConsolePeers) {}

  record(record: Omit<ConsoleAuditRecord, 'at'>): void {
    const entry: ConsoleAuditRecord = { ...record, at: new Date().toISOString() };
    const target =
      entry.stream === undefined
        ? ''
        : ` on stream "${entry.stream}"${entry.group === undefined ? '' : ` group "${entry.group}"`}`;
    const line = `${entry.who} ${entry.action}${target}: ${entry.outcome}${entry.detail === '' ? '' : ` (${entry.detail})`}`;
    if (entry.outcome === 'ok') this.logger.log(line);
    else this.logger.warn(line);
    this.peers.bus?.publish(CONSOLE_ACTION_EVENT, entry).catch(() => undefined);
  }
}
