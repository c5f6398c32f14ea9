// What every view gets: the API, the push channel, the session, and a way to tell the user things.

import { describeError, type Api } from './api.js';
import { openDialog } from './dialog.js';
import { h } from './dom.js';
import { partitionParent } from './lanes.js';
import type { Live } from './live.js';
import { ThroughputStore } from './throughput.js';
import type { ConsoleAction, ConsoleSessionBody } from './types.js';

/** A view on the page: its element, and what to do when the user leaves it. */
export interface View {
  element: HTMLElement;
  destroy(): void;
}

export type ViewFactory = (context: ConsoleContext, params: string[]) => View;

/** Actions a production console confirms by typing the stream's name (the server asks for `confirm`). */
const TYPED_ON_PRODUCTION: ReadonlySet<string> = new Set([
  'delete-pending',
  'delete-dead-letter',
  'autoclaim',
  'replay-all',
]);

export class ConsoleContext {
  /** Throughput history, shared by the views that chart it. */
  readonly throughput: ThroughputStore;
  private readonly notices: HTMLElement;
  private readonly alerts: HTMLElement;
  private rendered = false;

  constructor(
    readonly api: Api,
    readonly live: Live,
    readonly session: ConsoleSessionBody,
  ) {
    this.throughput = new ThroughputStore(this);
    this.notices = h('div', { class: 'notice-region', role: 'status', 'aria-live': 'polite' });
    this.alerts = h('div', { class: 'notice-region', role: 'alert' });
  }

  /**
   * Views call this once their data is on the page; the first call marks `redkit-console:first-render`
   * in the Performance timeline (the time from navigation to a useful page).
   */
  firstRender(): void {
    if (this.rendered) return;
    this.rendered = true;
    performance.mark('redkit-console:first-render');
  }

  /** The regions notices are announced in; main.ts places them once. */
  regions(): HTMLElement[] {
    return [this.notices, this.alerts];
  }

  /**
   * True when the page should offer `action` (on `stream`): operate mode, not denied, and the
   * stream not read-only when the session says which are (a partition is read-only with its
   * partitioned stream, as the server has it).
   */
  can(action: ConsoleAction, stream?: string): boolean {
    if (this.session.mode !== 'operate' || this.session.deny.includes(action)) return false;
    if (stream === undefined) return true;
    const parent = partitionParent(stream);
    return !this.session.readOnlyStreams.some(
      (pattern) => globMatches(pattern, stream) || (parent !== null && globMatches(pattern, parent)),
    );
  }

  /** Drops the success notices (on leaving a view: they were about it); errors stay until read. */
  clearNotices(): void {
    this.notices.replaceChildren();
  }

  /** A short-lived message: what an action did, or why it failed. */
  notify(message: string, kind: 'ok' | 'error' = 'ok'): void {
    const region = kind === 'error' ? this.alerts : this.notices;
    const notice = h(
      'p',
      { class: `notice ${kind}` },
      h('span', null, message),
      h(
        'button',
        { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => notice.remove() },
        '×',
      ),
    );
    region.append(notice);
    while (region.childElementCount > 3) region.firstElementChild?.remove();
    window.setTimeout(() => notice.remove(), kind === 'error' ? 12_000 : 6_000);
  }

  /**
   * Asks for confirmation of `action` on `stream` (typed on production for the destructive ones),
   * runs `run` with the `confirm` field the server expects, and reports the outcome. Resolves with
   * the result, or undefined when cancelled or failed.
   */
  async act<T>(options: {
    action: ConsoleAction | 'replay-all';
    stream: string;
    title: string;
    message?: string;
    confirmLabel: string;
    danger?: boolean;
    /** Ask first even where production does not require it. */
    ask?: boolean;
    run: (confirm: string | undefined) => Promise<T>;
    done: (result: T) => string;
  }): Promise<T | undefined> {
    const typed =
      this.session.production && TYPED_ON_PRODUCTION.has(options.action) ? options.stream : undefined;
    if (typed !== undefined || options.ask) {
      const answer = await openDialog({
        title: options.title,
        message: options.message,
        confirmLabel: options.confirmLabel,
        danger: options.danger,
        typed,
      });
      if (answer === null) return undefined;
    }
    try {
      const result = await options.run(typed);
      this.notify(options.done(result));
      return result;
    } catch (error) {
      this.notify(`${options.title}: ${describeError(error)}`, 'error');
      return undefined;
    }
  }
}

/** `*` matches any run of characters; everything else matches itself. */
function globMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(name);
}
