// What the pending-entries and dead-letters tables share: cursor paging (first, previous, next), a
// checkbox per row, the bar of actions on the selected entries, and each row's action buttons.
// Without an action the user may take, no checkbox, bar or actions column is drawn.

import { h, patch, type Child, type Header } from './dom.js';

/** A button of the selection bar. */
export interface SelectionAction {
  label: string;
  /** Called with the selected ids (a copy, taken when the bar was drawn). */
  run: (ids: string[]) => void;
  danger?: boolean;
  /** Enabled with nothing selected: an action that does not take the selection. */
  always?: boolean;
}

export interface EntrySelectionOptions {
  /** Whether any action is allowed: without one, no checkbox, selection bar or actions column. */
  operate: boolean;
  /** Reads the page at `after` and draws it. */
  refresh: () => Promise<void>;
  /** The bar's buttons, in order; null for one the user may not take. */
  actions: readonly (SelectionAction | null)[];
}

export class EntrySelection {
  /** The ids checked on the page shown. */
  readonly selected = new Set<string>();
  /** "n selected" and the actions on them; in the page only when `operate`. */
  readonly bar = h('div', { class: 'toolbar actions-bar' });
  readonly pager = h('p', { class: 'pager' });
  readonly operate: boolean;
  /** The cursors of the pages before the one shown; the last is the current page's `after`. */
  private cursors: (string | null)[] = [null];

  constructor(private readonly options: EntrySelectionOptions) {
    this.operate = options.operate;
  }

  /** The cursor of the page shown (null for the first). */
  get after(): string | null {
    return this.cursors[this.cursors.length - 1] ?? null;
  }

  /** Back to the first page, with nothing selected, read again. */
  showFirst(): void {
    this.go([null]);
  }

  /** The next read starts at the first page (the caller reads). */
  rewind(): void {
    this.cursors = [null];
  }

  /** Unchecks the ids the page read no longer shows. */
  keepOnly(entries: readonly { id: string }[]): void {
    for (const id of [...this.selected]) if (!entries.some((e) => e.id === id)) this.selected.delete(id);
  }

  /** The table's headers, with the checkbox and actions columns when `operate`. */
  headers(headers: Header[]): Header[] {
    return this.operate ? [{ label: 'Select', hidden: true }, ...headers, 'Actions'] : headers;
  }

  /** The row's checkbox cell, or null without `operate`. */
  checkboxCell(id: string): HTMLTableCellElement | null {
    if (!this.operate) return null;
    const checkbox = h('input', {
      type: 'checkbox',
      'aria-label': `Select ${id}`,
      checked: this.selected.has(id),
      'data-key': `sel:${id}`,
    });
    checkbox.addEventListener('change', () => {
      if (checkbox.checked) this.selected.add(id);
      else this.selected.delete(id);
      this.renderBar();
    });
    return h('td', null, checkbox);
  }

  /** The row's actions cell (the buttons given, null for the ones not allowed), or null without `operate`. */
  actionsCell(...buttons: Child[]): HTMLTableCellElement | null {
    return this.operate ? h('td', { class: 'row-actions' }, buttons) : null;
  }

  /** Draws the pager for the page shown; `next` is its cursor of the next page. */
  renderPager(next: string | null): void {
    const previous = this.cursors.length > 1;
    patch(
      this.pager,
      previous
        ? h('button', { type: 'button', 'data-key': 'first', onclick: () => this.go([null]) }, '« First page')
        : null,
      previous
        ? h(
            'button',
            { type: 'button', 'data-key': 'prev', onclick: () => this.go(this.cursors.slice(0, -1)) },
            '‹ Previous',
          )
        : null,
      next !== null
        ? h(
            'button',
            { type: 'button', 'data-key': 'next', onclick: () => this.go([...this.cursors, next]) },
            'Next page ›',
          )
        : null,
    );
  }

  /** Draws the selection bar (nothing without `operate`). */
  renderBar(): void {
    if (!this.operate) return;
    const ids = [...this.selected];
    patch(
      this.bar,
      h('span', { class: 'muted' }, `${ids.length} selected `),
      this.options.actions.map((action) => (action === null ? null : barButton(action, ids))),
    );
  }

  private go(next: (string | null)[]): void {
    this.cursors = next;
    this.selected.clear();
    void this.options.refresh();
  }
}

function barButton(action: SelectionAction, ids: string[]): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      class: action.danger ? 'danger' : null,
      disabled: !action.always && ids.length === 0,
      onclick: () => action.run(ids),
    },
    action.label,
  );
}

/** A row's action button; its accessible name ends with the entry's id (`Ack 1700000000000-0`). */
export function rowButton(
  label: string,
  key: string,
  id: string,
  onclick: () => void,
  danger = false,
): HTMLButtonElement {
  return h(
    'button',
    { type: 'button', class: danger ? 'danger' : null, 'data-key': `${key}:${id}`, onclick },
    label,
    h('span', { class: 'visually-hidden' }, ` ${id}`),
  );
}
