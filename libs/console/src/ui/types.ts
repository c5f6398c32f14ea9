// The JSON shapes of the console API (API.md), as the server declares them in
// ../console-api.types.ts. Type-only: the build erases these exports, so the page never loads a
// server file.

import type { OrderBookLadder } from '../console-api.types.js';

export type * from '../console-api.types.js';

/** One price level of a ladder. */
export type BookLevel = OrderBookLadder['bids'][number];
