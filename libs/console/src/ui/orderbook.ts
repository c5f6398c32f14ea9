// Order-book ladder: asks above, bids below, best prices meeting at the spread, each level with a
// bar for its quantity; pushed as the book changes. Prices and quantities are shown exactly as the
// server sends them (decimal strings); numbers are only used to size the bars.

import { ApiError, describeError } from './api.js';
import type { ConsoleContext, View } from './context.js';
import { dateTime, h, loading, patch, route, viewSection } from './dom.js';
import type { BookLevel, OrderBookLadder } from './types.js';

const DEPTH = 15;

export function orderBookView(context: ConsoleContext, params: string[]): View {
  let symbol = params[0] ?? '';
  const picker = h('select', { id: 'book-symbol' });
  picker.addEventListener('change', () => {
    location.hash = route('orderbook', picker.value);
  });
  const meta = h('p', { class: 'summary' });
  const ladder = loading();
  const element = viewSection(
    'Order book',
    h('p', { class: 'toolbar' }, h('label', { for: 'book-symbol' }, 'Symbol '), picker),
    meta,
    ladder,
  );
  let previous = new Map<string, string>();
  let watchTimer: number | undefined;

  const render = (book: OrderBookLadder) => {
    ladder.removeAttribute('aria-busy');
    const bestBid = book.bids[0]?.price;
    const bestAsk = book.asks[0]?.price;
    const spread =
      bestBid !== undefined && bestAsk !== undefined ? trimNumber(Number(bestAsk) - Number(bestBid)) : '—';
    patch(meta, `Sequence ${book.sequence} · spread ${spread} · updated ${dateTime(book.updatedAt)}`);
    const all = [...book.bids, ...book.asks];
    const max = Math.max(1e-12, ...all.map((level) => Number(level.quantity)));
    const current = new Map<string, string>();
    const row = (side: 'ask' | 'bid', level: BookLevel) => {
      const key = `${side}:${level.price}`;
      current.set(key, level.quantity);
      const changed = previous.size > 0 && previous.get(key) !== level.quantity;
      const bar = h('span', { class: 'depth-bar', 'aria-hidden': 'true' });
      // A CSSOM custom property (allowed by the CSP) sizes the bar.
      bar.style.setProperty('--depth', String(Math.min(1, Number(level.quantity) / max)));
      return h(
        'tr',
        { class: `${side}${changed ? ' changed' : ''}`, 'data-side': side, 'data-price': level.price },
        h('td', { class: 'num qty' }, side === 'bid' ? [bar, h('span', null, level.quantity)] : ''),
        h('th', { scope: 'row', class: 'num price' }, level.price),
        h('td', { class: 'num qty' }, side === 'ask' ? [bar, h('span', null, level.quantity)] : ''),
      );
    };
    const asks = book.asks
      .slice(0, DEPTH)
      .map((level) => row('ask', level))
      .reverse();
    const bids = book.bids.slice(0, DEPTH).map((level) => row('bid', level));
    previous = current;
    patch(
      ladder,
      h(
        'div',
        { class: 'table-wrap ladder-wrap' },
        h(
          'table',
          { class: 'ladder' },
          h(
            'caption',
            { class: 'visually-hidden' },
            `${book.symbol} ladder: asks above the spread, bids below`,
          ),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col', class: 'num' }, 'Bid size'),
              h('th', { scope: 'col', class: 'num' }, 'Price'),
              h('th', { scope: 'col', class: 'num' }, 'Ask size'),
            ),
          ),
          h(
            'tbody',
            null,
            asks.length ? asks : h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'No asks')),
            h('tr', { class: 'spread' }, h('td', { colspan: 3 }, `spread ${spread}`)),
            bids.length ? bids : h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'No bids')),
          ),
        ),
      ),
    );
    context.firstRender();
  };

  const loadBook = async () => {
    if (symbol === '') return;
    try {
      render(
        await context.api.get<OrderBookLadder>(`orderbook/${encodeURIComponent(symbol)}`, { depth: DEPTH }),
      );
    } catch (error) {
      const message =
        error instanceof ApiError && error.status === 404
          ? `No book for ${symbol}.`
          : `Could not load the book: ${describeError(error)}`;
      patch(ladder, h('p', { class: 'error' }, message));
    }
  };

  const load = async () => {
    try {
      const { symbols } = await context.api.get<{ symbols: string[] }>('orderbook');
      if (symbol === '' || !symbols.includes(symbol)) symbol = symbols[0] ?? symbol;
      patch(
        picker,
        symbols.map((name) => h('option', { value: name, selected: name === symbol }, name)),
      );
      // The live channel watches the first 20 books; a later one is re-read every 2 s instead.
      window.clearInterval(watchTimer);
      if (symbols.indexOf(symbol) >= 20) watchTimer = window.setInterval(() => void loadBook(), 2_000);
      if (symbol === '') {
        ladder.removeAttribute('aria-busy');
        patch(ladder, h('p', { class: 'muted' }, 'No order book exists yet.'));
        context.firstRender();
        return;
      }
      await loadBook();
    } catch (error) {
      patch(ladder, h('p', { class: 'error' }, `Could not list the books: ${describeError(error)}`));
    }
  };

  const stop = context.live.subscribe(
    'orderbook',
    (data) => {
      const book = data as Partial<OrderBookLadder>;
      if (book.symbol !== symbol) return;
      // A push with the levels is drawn as is; a bare change notice is followed by a read.
      if (Array.isArray(book.bids) && Array.isArray(book.asks)) render(book as OrderBookLadder);
      else void loadBook();
    },
    loadBook,
  );
  void load();
  return {
    element,
    destroy() {
      stop();
      window.clearInterval(watchTimer);
    },
  };
}

/** A difference of two decimal strings, rounded to hide binary floating-point noise. */
function trimNumber(value: number): string {
  return String(Math.round(value * 1e8) / 1e8);
}
