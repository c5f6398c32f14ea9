/** Settings of the sample API, read once from the environment and checked. */
export interface AppConfig {
  redisUrl: string;
  host: string;
  port: number;
}

/** Thrown when an environment variable holds something the API cannot use; names the variable. */
export class AppConfigError extends Error {
  constructor(variable: string, reason: string) {
    super(`environment variable ${variable} ${reason}`);
    this.name = 'AppConfigError';
  }
}

export function readAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new AppConfigError(
      'PORT',
      `must be a port number from 0 to 65535, got ${JSON.stringify(env.PORT)}`,
    );
  }
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    host: env.HOST || '127.0.0.1',
    port,
  };
}
