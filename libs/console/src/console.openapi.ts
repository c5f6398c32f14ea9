import type { Type } from '@nestjs/common';

import { CONSOLE_SESSION_COOKIE } from './console.constants.js';

/** What the OpenAPI document says of one route. */
interface RouteDoc {
  summary: string;
  description?: string;
  query?: Array<{ name: string; description: string }>;
  body?: Record<string, unknown>;
  /** `text/event-stream` for the live stream. */
  produces?: string;
  /** Left out of the document (the page and its assets). */
  exclude?: true;
}

const ids = { type: 'array', items: { type: 'string', example: '1700000000000-0' } };
const confirm = { type: 'string', description: 'the stream’s name, required on a production console' };
const selection = {
  type: 'object',
  properties: {
    ids: { ...ids, maxItems: 100 },
    all: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
    confirm,
  },
};

const after = { name: 'after', description: 'exclusive cursor: the `next` of the previous page' };
const priority = {
  type: 'string',
  enum: ['critical', 'high', 'normal', 'low'],
  description: 'the priority lane the ids are on; default normal',
};

/** The routes' documentation, by `<handler class>.<method>` (API.md has the full shapes). */
const DOCS: Readonly<Record<string, RouteDoc>> = {
  'ConsolePageController.page': { summary: 'The console page', exclude: true },
  'ConsolePageController.asset': { summary: 'A file of the page', exclude: true },
  'ConsolePageController.uiAsset': { summary: 'A file of the page', exclude: true },
  'ConsoleSessionController.session': {
    summary: 'What this page may see and do: mode, production, deny, views, auth, CSRF token',
  },
  'ConsoleSessionController.login': {
    summary: 'Exchanges the API key for a session cookie (204)',
    body: { type: 'object', properties: { apiKey: { type: 'string' } }, required: ['apiKey'] },
  },
  'ConsoleSessionController.logout': { summary: 'Clears the session cookie (204)' },
  'ConsoleStreamsController.list': {
    summary:
      'Every stream: length, first/last id, entries added, memory, dead letters, groups with lag and pending, each priority lane’s length and pending, partitioned streams',
  },
  'ConsoleStreamsController.detail': {
    summary: 'One stream with its consumers (pending, idle, inactive, dead)',
  },
  'ConsolePendingController.page': {
    summary: 'Pending entries of a group, of every priority lane, paged by id range',
    query: [
      { ...after, description: '`<id>:<lane>`, the `next` of the previous page (or a bare id)' },
      { name: 'limit', description: '1 to 200, default 50' },
      { name: 'consumer', description: 'only this consumer’s entries' },
      { name: 'priority', description: 'only this lane’s entries (critical, high, normal, low)' },
    ],
  },
  'ConsolePendingController.ack': {
    summary: 'XACK pending entries of one lane',
    body: { type: 'object', properties: { ids: { ...ids, maxItems: 100 }, priority } },
  },
  'ConsolePendingController.claim': {
    summary: 'XCLAIM pending entries of one lane to a consumer',
    body: {
      type: 'object',
      properties: {
        ids: { ...ids, maxItems: 100 },
        consumer: { type: 'string' },
        minIdleMs: { type: 'integer' },
        priority,
      },
    },
  },
  'ConsolePendingController.autoclaim': {
    summary: 'An XAUTOCLAIM sweep of at most `count` entries, of every lane (highest first) or one',
    body: {
      type: 'object',
      properties: {
        consumer: { type: 'string' },
        minIdleMs: { type: 'integer' },
        count: { type: 'integer', minimum: 1, maximum: 1000 },
        start: { type: 'string', description: 'the `next` of the last sweep (`<id>:<lane>`); default 0-0' },
        priority: { ...priority, description: 'sweep this lane only; default every lane' },
        confirm,
      },
    },
  },
  'ConsolePendingController.delete': {
    summary: 'Deletes pending entries of one lane (XACK then XDEL)',
    body: { type: 'object', properties: { ids: { ...ids, maxItems: 100 }, priority, confirm } },
  },
  'ConsoleDeadLettersController.page': {
    summary: 'Dead letters of a stream, paged by id',
    query: [after, { name: 'limit', description: '1 to 200, default 50' }],
  },
  'ConsoleDeadLettersController.replay': {
    summary:
      'Replays dead letters to their stream, on the lane each failed on (by id, or the oldest `all.limit`), with a report',
    body: selection,
  },
  'ConsoleDeadLettersController.delete': {
    summary: 'Deletes dead letters (by id, or the oldest `all.limit`)',
    body: selection,
  },
  'ConsoleThroughputController.throughput': {
    summary: 'Entries added / acked / retried / dead-lettered per second and handler p50/p95, per stream',
  },
  'ConsoleLocksController.page': {
    summary: 'Held locks, semaphores, read-write locks and leaders (SCAN with COUNT, paged)',
    query: [
      { name: 'cursor', description: 'the `cursor` of the previous page' },
      { name: 'limit', description: '1 to 500, default 100' },
    ],
  },
  'ConsoleLimitsController.limits': {
    summary: 'Rate-limit decisions per second over time, and the top limited identities',
  },
  'ConsoleCacheController.body': {
    summary: 'Hits, misses, stale values and loader latency per cache namespace',
  },
  'ConsoleCacheController.evict': {
    summary: 'Evicts a cache key or tag (every instance)',
    body: {
      type: 'object',
      properties: { key: { type: 'string' }, tag: { type: 'string' }, namespace: { type: 'string' } },
    },
  },
  'ConsoleEventsController.events': {
    summary: 'The last events of the event bus the console saw (redacted, truncated)',
    query: [{ name: 'limit', description: '1 to 200, default 100' }],
  },
  'ConsoleRedisController.body': {
    summary: 'The Redis servers, from the connection’s server-metrics collector (or why not)',
  },
  'ConsoleOrderBookController.symbols': { summary: 'Symbols that have an order book' },
  'ConsoleOrderBookController.ladder': {
    summary: 'One order book’s top levels',
    query: [{ name: 'depth', description: '1 to 50, default 20' }],
  },
  'ConsoleLiveController.live': {
    summary:
      'Live updates (server-sent events): streams, throughput, events, redis, locks, limits, cache, orderbook',
    produces: 'text/event-stream',
    query: [{ name: 'orderbook', description: 'symbols to watch (repeatable); default the first 20 books' }],
  },
};

type Swagger = typeof import('@nestjs/swagger');

/**
 * Handler classes whose methods are documented already: their methods are shared by the classes
 * mounted for every `forRoot`, and swagger adds to a method's metadata, so each is documented once.
 */
const documented = new WeakSet<object>();

/**
 * Documents the console's JSON API in the app's OpenAPI document, when the app has
 * `@nestjs/swagger` (an optional peer, loaded here, never required): tags, summaries, query
 * parameters, bodies, the session cookie, the SSE content type; the page and its assets are left
 * out. Returns false when swagger is not installed (the README documents the API either way).
 */
export async function documentConsoleApi(
  controllers: readonly Type<object>[],
  apiKey: boolean,
): Promise<boolean> {
  let swagger: Swagger;
  try {
    swagger = (await import('@nestjs/swagger')) as Swagger;
  } catch {
    return false;
  }
  for (const controller of controllers) {
    swagger.ApiTags('console')(controller);
    if (apiKey) swagger.ApiCookieAuth(CONSOLE_SESSION_COOKIE)(controller);
    const handlers = Object.getPrototypeOf(controller) as Type<object>;
    if (documented.has(handlers)) continue;
    documented.add(handlers);
    for (const name of Object.getOwnPropertyNames(handlers.prototype)) {
      const doc = DOCS[`${handlers.name}.${name}`];
      const descriptor = Object.getOwnPropertyDescriptor(handlers.prototype, name);
      if (doc === undefined || descriptor === undefined) continue;
      const decorate = (decorator: MethodDecorator) => decorator(controller.prototype, name, descriptor);
      if (doc.exclude) {
        decorate(swagger.ApiExcludeEndpoint());
        continue;
      }
      decorate(swagger.ApiOperation({ summary: doc.summary, description: doc.description }));
      for (const query of doc.query ?? []) {
        decorate(swagger.ApiQuery({ name: query.name, description: query.description, required: false }));
      }
      if (doc.body !== undefined) decorate(swagger.ApiBody({ schema: doc.body }));
      if (doc.produces !== undefined) decorate(swagger.ApiProduces(doc.produces));
    }
  }
  return true;
}
