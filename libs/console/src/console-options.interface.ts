import type { CanActivate, Type } from '@nestjs/common';

import type { ConsoleAction, ConsoleMode } from './console-api.types.js';

/** Streams named exactly, or with `*` globs (`orders.*`). */
export interface ConsoleStreamRules {
  /** Left out of every list and answered 404, as if they did not exist. */
  hide?: string[];
  /** Shown, but no action may change them (403). */
  readOnly?: string[];
}

/**
 * The options of `ConsoleModule.forRoot` (or what the `forRootAsync` factory returns). Every one has
 * a default; validated once at startup (`ConsoleOptionsError` names the bad one).
 */
export interface ConsoleModuleOptions {
  /** Default `read-only`. `operate` enables the actions (ack, claim, replay, delete, evict). */
  mode?: ConsoleMode;
  /**
   * The built-in auth, for apps without their own: the key is exchanged at `POST <path>/api/login`
   * for a signed session cookie (HttpOnly, SameSite=Strict, Path=<path>). At least 16 characters.
   * Not together with the `guard` setting: that one is the app's own auth.
   */
  apiKey?: string;
  /**
   * Signs the session cookies (HMAC-SHA256); at least 32 characters. Default: random per process, so
   * sessions end with the process and do not carry to other instances: set it when several
   * instances serve the console behind one load balancer.
   */
  sessionSecret?: string;
  /** How long an API-key session lasts. Default 8 hours. */
  sessionTtlMs?: number;
  /**
   * Whether the session cookie gets `Secure`. Default `'auto'`: when the login came over TLS to Node,
   * or through a TLS-terminating proxy that says so (`X-Forwarded-Proto: https`, `Forwarded:
   * proto=https`). `true` always (the console then works over HTTPS only); `false` never.
   */
  secureCookie?: boolean | 'auto';
  /** Destructive actions need a typed confirmation (the stream's name). Default `NODE_ENV === 'production'`. */
  production?: boolean;
  /** Actions refused on the server whatever the mode. */
  deny?: ConsoleAction[];
  /** Streams hidden, or read-only. */
  streams?: ConsoleStreamRules;
  /** JSON field names whose values are shown as `"[redacted]"`, at any depth. Default password, token, secret, authorization, apiKey. */
  redactFields?: string[];
  /** Entry fields and event payloads are cut to this many bytes (`truncated: true`). Default 2048. */
  maxPayloadBytes?: number;
  /** Live-tail events sent per second at most; the rest are counted as dropped. Default 50. */
  tailPerSecond?: number;
  /** A consumer idle longer than this is flagged dead. Default 5 minutes. */
  deadConsumerMs?: number;
  /** Streams listed at most (found by SCAN, with a budget); the list says `truncated` past it. Default 100. */
  maxStreams?: number;
  /** Console API requests per second per client (user, session or address); 429 past it. Default 20. */
  requestsPerSecond?: number;
  /** Live (SSE) connections open at once on this instance; 429 past it. Default 50. */
  maxLiveConnections?: number;
  /**
   * The RedisModule connection whose `serverMetrics` collector the Redis view shows. Default: the
   * console's `connection` when it has a collector, else the one connection that has one (an app
   * often samples INFO on a connection of its own, with a user allowed it).
   */
  serverMetricsConnection?: string;
}

/**
 * Module-level settings, given beside the options to `forRoot` and `forRootAsync` (they shape the
 * routes and the providers, so they cannot come from an async factory).
 */
export interface ConsoleModuleExtras {
  /** Mount path. Default `/console`. */
  path: string;
  /** The RedisModule connection the console reads. Default `default`. */
  connection: string;
  /**
   * The app's auth: a guard class run before the console's own checks on every console route (the
   * page included). Its dependencies must be resolvable from the console module: global providers,
   * or modules given in `forRootAsync({ imports })`.
   */
  guard?: Type<CanActivate>;
}
