// Priority lanes and partitions as the page shows them: a lane's badge, and the small per-lane
// breakdown under a number, drawn only when a lane other than `normal` is in use, so a stream that
// never uses priorities looks as it always did.

import { count, h } from './dom.js';
import type { LanePriority } from './types.js';

/** The lanes, highest first, as the API lists them. */
export const LANES: readonly LanePriority[] = ['critical', 'high', 'normal', 'low'];

/** A lane's badge (`normal` is muted: most entries are). */
export function laneBadge(priority: LanePriority): HTMLElement {
  return h('span', { class: `badge lane lane-${priority}`, 'data-lane': priority }, priority);
}

/**
 * "critical 2 · low 40": the lanes whose value is not zero, each in a `[data-lane]` span, or null
 * when no lane but `normal` has one (the number beside it says it all then).
 */
export function laneSplit(
  values: readonly { priority: LanePriority; value: number | null }[],
): HTMLElement | null {
  const shown = values.filter(({ value }) => value !== null && value !== 0);
  if (shown.every(({ priority }) => priority === 'normal')) return null;
  return h(
    'span',
    { class: 'lane-split' },
    shown.map(({ priority, value }, index) => [
      index > 0 ? ' · ' : null,
      h('span', { 'data-lane': priority }, `${priority} ${count(value)}`),
    ]),
  );
}

/** The partitioned stream `<name>` of a partition named `<name>#<index>` (as the server reads names). */
export function partitionParent(stream: string): string | null {
  const match = /^(.+)#(0|[1-9]\d{0,3})$/s.exec(stream);
  return match !== null && Number(match[2]) < 1024 ? (match[1] as string) : null;
}
