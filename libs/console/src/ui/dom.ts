// A few lines instead of a framework: build elements with h(), swap a region's children with patch().
// Nothing here writes HTML strings or style attributes, so the page runs under the strict CSP.

export type Child = Node | string | number | null | undefined | false | Child[];

/** `on<event>` keys take a listener; `true` sets a boolean attribute; null, undefined and false are skipped. */
export type Attributes = Record<
  string,
  string | number | boolean | null | undefined | ((event: never) => void)
>;

/**
 * An element with attributes and children.
 *
 * @example
 * h('button', { type: 'button', class: 'danger', onclick: () => remove(id) }, 'Delete')
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes?: Attributes | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (attributes) {
    for (const name in attributes) {
      const value = attributes[name];
      if (value === null || value === undefined || value === false) continue;
      if (typeof value === 'function') {
        element.addEventListener(name.slice(2), value as EventListener);
      } else {
        element.setAttribute(name, value === true ? '' : String(value));
      }
    }
  }
  append(element, children);
  return element;
}

/** Appends children, flattening arrays and turning text into text nodes. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces the children of `container`. When focus was on an element of the old content carrying a
 * `data-key`, the new element with the same key gets it back, so a live update does not throw a
 * keyboard user out of the table they are working in.
 */
export function patch(container: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.key : undefined;
  const fragment = document.createDocumentFragment();
  append(fragment, children);
  container.replaceChildren(fragment);
  if (key !== undefined) {
    container.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
  }
}

/** A column header: its text, right-aligned for numbers, or only for screen readers (a checkbox column). */
export type Header = string | { label: string; numeric?: boolean; hidden?: boolean };

/** A table with a caption and column headers; `wrap` lets it scroll sideways on a narrow screen. */
export function table(
  caption: string,
  headers: Header[],
  rows: Child[],
  options: { empty?: string; captionHidden?: boolean } = {},
): HTMLElement {
  const head = h(
    'tr',
    null,
    headers.map((header) =>
      typeof header === 'string'
        ? h('th', { scope: 'col' }, header)
        : h(
            'th',
            { scope: 'col', class: header.numeric ? 'num' : null },
            header.hidden ? h('span', { class: 'visually-hidden' }, header.label) : header.label,
          ),
    ),
  );
  const body =
    rows.length > 0
      ? rows
      : [
          h(
            'tr',
            null,
            h('td', { colspan: headers.length, class: 'empty' }, options.empty ?? 'Nothing here.'),
          ),
        ];
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('caption', { class: options.captionHidden ? 'visually-hidden' : null }, caption),
      h('thead', null, head),
      h('tbody', null, body),
    ),
  );
}

/**
 * A view's section, named by its heading: `#view-title`, which the page focuses on navigation, so
 * every view has exactly one.
 */
export function viewSection(title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'view', 'aria-labelledby': 'view-title' },
    h('h2', { id: 'view-title', tabindex: -1 }, title),
    children,
  );
}

/** A region that says `text` until its data is drawn (busy until the view removes `aria-busy`). */
export function loading(text = 'Loading…'): HTMLDivElement {
  return h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, text));
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** A count for a table cell; null reads as an em dash. */
export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : integer.format(value);
}

/** A count with its noun: `plural(1, 'entry', 'entries')` is "1 entry". */
export function plural(value: number, one: string, many = `${one}s`): string {
  return `${count(value)} ${value === 1 ? one : many}`;
}

/** A rate or ratio with up to two decimals. */
export function number(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? '—' : decimal.format(value);
}

/** A ratio 0..1 as a percentage. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${decimal.format(value * 100)} %`;
}

/** A duration in ms, in the largest unit that keeps it readable. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1_000) return `${integer.format(ms)} ms`;
  if (ms < 60_000) return `${decimal.format(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${decimal.format(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${decimal.format(ms / 3_600_000)} h`;
  return `${decimal.format(ms / 86_400_000)} d`;
}

/** A size in bytes, binary units. */
export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${decimal.format(size)} ${units[unit]}`;
}

/** A wall-clock time (HH:MM:SS) for a timestamp in ms or an ISO string. */
export function clock(at: number | string | null | undefined): string {
  if (at === null || at === undefined) return '—';
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toLocaleTimeString(undefined, { hour12: false });
}

/** Date and time for a timestamp in ms or an ISO string. */
export function dateTime(at: number | string | null | undefined): string {
  if (at === null || at === undefined) return '—';
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toLocaleString(undefined, { hour12: false });
}

/** A moment, as short as it can be: the time alone when it is today, else date and time. */
export function when(at: number | string | null | undefined): string {
  if (at === null || at === undefined) return '—';
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  return date.toDateString() === new Date().toDateString() ? clock(date.getTime()) : dateTime(date.getTime());
}

/** The time a stream id was written (its millisecond part), or null for a malformed id. */
export function idTime(id: string | null): number | null {
  if (id === null) return null;
  const ms = Number(id.split('-')[0]);
  return Number.isFinite(ms) ? ms : null;
}

/** The hash route for a view and its parameters, each part URI-encoded. */
export function route(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** Entry fields as a compact, readable block; long values are left for the browser to wrap. */
export function fieldsBlock(fields: Record<string, string> | null, truncated: boolean): HTMLElement {
  if (fields === null) return h('span', { class: 'muted' }, 'trimmed from the stream');
  const text = Object.entries(fields)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
  const preview =
    text.length > 60 ? `${text.slice(0, 60).replace(/\n/g, ' · ')}…` : text.replace(/\n/g, ' · ');
  if (text.length <= 60 && !truncated) return h('code', { class: 'fields' }, preview);
  return h(
    'details',
    { class: 'fields' },
    h('summary', null, h('code', null, preview)),
    h('pre', null, text, truncated ? h('span', { class: 'muted' }, '\n… truncated by the server') : null),
  );
}
