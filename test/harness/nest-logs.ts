import { inspect } from 'node:util';

import { ConsoleLogger, Logger, type LoggerService, type LogLevel } from '@nestjs/common';

/** REDKIT_TEST_LOGS=1 prints what Nest's loggers say, in test files and in forked workers alike. */
export const showTestLogs = process.env.REDKIT_TEST_LOGS === '1';

/**
 * A forked worker's stdout and stderr (`stdio` entries): dropped, unless REDKIT_TEST_LOGS=1 shows the
 * worker's logs beside the test file's.
 */
export const workerOutput: 'ignore' | 'inherit' = showTestLogs ? 'inherit' : 'ignore';

/** One call to a Nest logger, as captureLogs() records it. */
export interface NestLogEntry {
  level: LogLevel;
  message: string;
  /** The logger's context (`new Logger('Redis:cache')` → `Redis:cache`), when it has one. */
  context: string | undefined;
}

const captures = new Set<NestLogEntry[]>();
const printer = showTestLogs ? new ConsoleLogger() : undefined;

/**
 * Nest's logger for the whole test file: hands each entry to the running captures, and prints it only
 * with REDKIT_TEST_LOGS=1.
 */
class TestFileLogger implements LoggerService {
  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    if (captures.size > 0) {
      // A Logger with a context passes it last, as Nest's ConsoleLogger expects.
      const last = params.at(-1);
      const entry: NestLogEntry = {
        level,
        message: typeof message === 'string' ? message : inspect(message),
        context: typeof last === 'string' ? last : undefined,
      };
      for (const capture of captures) capture.push(entry);
    }
    printer?.[level](message, ...params);
  }
}

let installed = false;

/**
 * Makes a TestFileLogger Nest's logger for good (jest's setupFiles call this for every test file, see
 * quiet-logs.ts). Nest installs a logger of its own on every `Test.createTestingModule().compile()`
 * (its TestingLogger, which prints errors) and on every `createNestApplication({ logger })`, so
 * Logger.overrideLogger becomes a no-op: a test that wants the logs uses captureLogs() instead.
 */
export function pinTestFileLogger(): void {
  if (installed) return;
  installed = true;
  Logger.overrideLogger(new TestFileLogger());
  Logger.overrideLogger = () => undefined;
}

/**
 * Runs `run` and resolves with every Nest log entry written meanwhile (from libs' `new Logger(...)`
 * and from applications alike), whether or not REDKIT_TEST_LOGS prints them.
 *
 * @example
 * const logs = await captureLogs(async () => (await startApp()).close());
 * expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'it went wrong' }));
 */
export async function captureLogs(run: () => Promise<unknown>): Promise<NestLogEntry[]> {
  pinTestFileLogger();
  const entries: NestLogEntry[] = [];
  captures.add(entries);
  try {
    await run();
  } finally {
    captures.delete(entries);
  }
  return entries;
}
