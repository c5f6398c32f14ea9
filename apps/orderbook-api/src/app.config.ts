import { DEFAULT_MARKETS, type MarketDefinition } from './markets/market.js';

/** Settings of the sample API, read once from the environment and checked. */
export interface AppConfig {
  redisUrl: string;
  /**
   * The connection that samples the server's INFO into `redkit_redis_server_*` metrics
   * (REDIS_METRICS_URL): INFO is @dangerous, so in production a user allowed `+info +slowlog|len`,
   * not the API's own. Default: `redisUrl`.
   */
  redisMetricsUrl?: string;
  host: string;
  port: number;
  /** Markets served; default BTC-USD and ETH-USD. */
  markets?: readonly MarketDefinition[];
  /** `x-api-key` that `PUT /markets/:symbol/book` requires (ADMIN_API_KEY); unset disables that route. */
  adminApiKey?: string;
  /**
   * The operations console at /console: with CONSOLE_API_KEY it asks for that key and may act
   * (ack, claim, replay, evict); without, it is read-only and open, as the rest of the sample API.
   */
  consoleApiKey?: string;
  /** Seed the markets with a few levels at startup when they are empty (DEMO=1 or `npm start -- --demo`). */
  demo?: boolean;
  /**
   * Per-client rate limits on the market routes (RATE_LIMITS=off disables them, e.g. for the
   * benchmark). Default true.
   */
  rateLimits?: boolean;
  /** Believe `X-Forwarded-For` (TRUST_PROXY=1): set it when the API runs behind a proxy. Default false. */
  trustProxy?: boolean;
  /** The Nest HTTP adapter (HTTP_ADAPTER): `fastify` (default) or `express`. */
  httpAdapter?: HttpAdapterName;
  /**
   * A correlation id for every request (CORRELATION_IDS=on/off): on its log lines, its events and
   * stream entries, and its `x-correlation-id` answer. Unset (`auto`): on where AsyncLocalStorage is
   * cheap (Node 24+) or an OpenTelemetry SDK is registered; see http/correlation-default.ts.
   */
  correlationIds?: boolean;
}

/** The Nest HTTP adapters the API runs on. */
export const HTTP_ADAPTERS = ['fastify', 'express'] as const;
export type HttpAdapterName = (typeof HTTP_ADAPTERS)[number];

/** Thrown when an environment variable holds something the API cannot use; names the variable. */
export class AppConfigError extends Error {
  constructor(variable: string, reason: string) {
    super(`environment variable ${variable} ${reason}`);
    this.name = 'AppConfigError';
  }
}

function flag(env: NodeJS.ProcessEnv, variable: string, fallback: boolean): boolean {
  const value = env[variable];
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new AppConfigError(variable, `must be 1/true/on or 0/false/off, got ${JSON.stringify(value)}`);
}

export function readAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new AppConfigError(
      'PORT',
      `must be a port number from 0 to 65535, got ${JSON.stringify(env.PORT)}`,
    );
  }
  const adminApiKey = env.ADMIN_API_KEY || undefined;
  if (adminApiKey !== undefined && adminApiKey.length < 8) {
    throw new AppConfigError('ADMIN_API_KEY', 'must be at least 8 characters long');
  }
  const consoleApiKey = env.CONSOLE_API_KEY || undefined;
  if (consoleApiKey !== undefined && consoleApiKey.length < 16) {
    throw new AppConfigError('CONSOLE_API_KEY', 'must be at least 16 characters long');
  }
  const httpAdapter = (env.HTTP_ADAPTER || 'fastify').toLowerCase();
  if (!(HTTP_ADAPTERS as readonly string[]).includes(httpAdapter)) {
    throw new AppConfigError(
      'HTTP_ADAPTER',
      `must be ${HTTP_ADAPTERS.join(' or ')}, got ${JSON.stringify(env.HTTP_ADAPTER)}`,
    );
  }
  const correlation = (env.CORRELATION_IDS ?? '').toLowerCase();
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    redisMetricsUrl: env.REDIS_METRICS_URL || undefined,
    host: env.HOST || '127.0.0.1',
    port,
    markets: DEFAULT_MARKETS,
    adminApiKey,
    consoleApiKey,
    demo: flag(env, 'DEMO', false),
    rateLimits: flag(env, 'RATE_LIMITS', true),
    trustProxy: flag(env, 'TRUST_PROXY', false),
    httpAdapter: httpAdapter as HttpAdapterName,
    correlationIds:
      correlation === '' || correlation === 'auto' ? undefined : flag(env, 'CORRELATION_IDS', false),
  };
}
