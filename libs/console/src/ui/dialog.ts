// One modal for every action that needs a word from the user: a confirmation, a typed confirmation
// on production (RedisInsight's pattern), or a few fields (the consumer to claim to). A native
// <dialog>: focus is trapped, Escape cancels, focus returns where it was.

import { h } from './dom.js';

export interface DialogField {
  name: string;
  label: string;
  type?: 'text' | 'number';
  value?: string;
  min?: number;
  max?: number;
  /** Suggestions offered in a datalist. */
  suggestions?: string[];
}

export interface DialogOptions {
  title: string;
  message?: string;
  confirmLabel: string;
  danger?: boolean;
  /** When set, the confirm button stays disabled until this exact text is typed. */
  typed?: string;
  fields?: DialogField[];
}

let sequence = 0;

/** Resolves with the field values when confirmed, null when cancelled. */
export function openDialog(options: DialogOptions): Promise<Record<string, string> | null> {
  const id = `dialog-${++sequence}`;
  const returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const inputs = (options.fields ?? []).map((field) => {
    const listId = field.suggestions?.length ? `${id}-${field.name}-list` : undefined;
    const input = h('input', {
      id: `${id}-${field.name}`,
      name: field.name,
      type: field.type ?? 'text',
      value: field.value ?? '',
      min: field.min,
      max: field.max,
      required: true,
      list: listId,
      autocomplete: 'off',
    });
    return {
      field,
      input,
      element: h(
        'p',
        { class: 'field' },
        h('label', { for: input.id }, field.label),
        input,
        listId
          ? h(
              'datalist',
              { id: listId },
              (field.suggestions ?? []).map((value) => h('option', { value })),
            )
          : null,
      ),
    };
  });
  const typedInput = options.typed
    ? h('input', {
        id: `${id}-typed`,
        name: 'confirm',
        type: 'text',
        autocomplete: 'off',
        spellcheck: 'false',
      })
    : null;
  const confirm = h(
    'button',
    { type: 'submit', class: options.danger ? 'danger' : 'primary', disabled: typedInput !== null },
    options.confirmLabel,
  );
  const cancel = h('button', { type: 'button' }, 'Cancel');
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: `${id}-title` }, options.title),
    options.message ? h('p', null, options.message) : null,
    inputs.map(({ element }) => element),
    typedInput
      ? h(
          'p',
          { class: 'field' },
          h(
            'label',
            { for: typedInput.id },
            'This is production. Type ',
            h('strong', null, options.typed ?? ''),
            ' to confirm.',
          ),
          typedInput,
        )
      : null,
    h('p', { class: 'actions' }, cancel, confirm),
  );
  const dialog = h('dialog', { 'aria-labelledby': `${id}-title`, class: 'modal' }, form);
  document.body.append(dialog);

  typedInput?.addEventListener('input', () => {
    confirm.disabled = typedInput.value !== options.typed;
  });

  return new Promise((resolve) => {
    let result: Record<string, string> | null = null;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (typedInput && typedInput.value !== options.typed) return;
      if (!form.reportValidity()) return;
      result = Object.fromEntries(inputs.map(({ field, input }) => [field.name, input.value.trim()]));
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      returnFocus?.focus();
      resolve(result);
    });
    dialog.showModal();
    (inputs[0]?.input ?? typedInput ?? confirm).focus();
  });
}
