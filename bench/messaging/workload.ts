import type { MessagePriority } from '@redkit/messaging';

/** Jobs a consumer handles at once in the messaging benches. */
export const CONCURRENCY = 64;
/** The job every messaging bench publishes. */
export const PAYLOAD = { orderId: 'ord_01HZX4T9K2M8Q7W3E5R6Y1U0PA', symbol: 'BTC-USD', price: '64250.50' };
/** Of every 10 jobs: 1 critical, 2 high, 5 normal, 2 low, spread so no level comes in a run. */
export const PRIORITY_MIX: readonly MessagePriority[] = [
  'normal',
  'high',
  'normal',
  'low',
  'critical',
  'normal',
  'high',
  'normal',
  'low',
  'normal',
];
