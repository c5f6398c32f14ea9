import {
  Catch,
  HttpException,
  Inject,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FencedOutError, LockLostError, LockNotAcquiredError } from '@redkit/lock';
import { OrderBookError, OrderBookOptionsError, OrderBookValidationError } from '@redkit/orderbook';
import { RedisConnectionError } from '@redkit/redis';

import { ExchangeError } from '../exchange/exchange.errors.js';
import { InvalidFieldError } from '../markets/market.js';

/** What every error answer looks like. */
interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errors?: { field: string; reason: string }[];
  [extra: string]: unknown;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function reasonOf(status: number): string {
  return REASONS[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/**
 * Maps every error to a JSON answer without a stack: the libraries' typed errors to the status they
 * mean (bad input 400, unknown order 404, conflicts 409, rate limits 429, a busy market or an
 * unreachable Redis 503), anything unexpected to a bare 500 that is logged here in full.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  /** Nest's adapter answers on Express and Fastify alike (`reply`, `setHeader`, `isHeadersSent`). */
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    const { status, body, retryAfter } = this.describe(exception);
    if (adapter.isHeadersSent(response)) {
      adapter.end(response);
      return;
    }
    if (retryAfter !== undefined) adapter.setHeader(response, 'Retry-After', String(retryAfter));
    adapter.reply(response, body, status);
  }

  private describe(exception: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const answer = exception.getResponse();
      const body: ErrorBody =
        typeof answer === 'object' && answer !== null
          ? { statusCode: status, error: reasonOf(status), message: exception.message, ...(answer as object) }
          : { statusCode: status, error: reasonOf(status), message: String(answer) };
      if (Array.isArray(body.message)) body.message = body.message.join('; ');
      return { status, body };
    }
    if (exception instanceof InvalidFieldError) {
      return this.fieldError(exception.field, exception.reason);
    }
    if (exception instanceof ExchangeError) {
      return {
        status: exception.httpStatus,
        body: {
          statusCode: exception.httpStatus,
          error: reasonOf(exception.httpStatus),
          message: exception.message,
        },
        retryAfter: exception.httpStatus === 503 ? 1 : undefined,
      };
    }
    if (exception instanceof OrderBookValidationError)
      return this.fieldError(exception.field, exception.reason);
    if (exception instanceof OrderBookError && !(exception instanceof OrderBookOptionsError)) {
      const status = exception.httpStatus;
      return {
        status,
        body: {
          statusCode: status,
          error: reasonOf(status),
          message: exception.message,
          code: exception.code,
        },
      };
    }
    if (exception instanceof FencedOutError) {
      return {
        status: 503,
        body: {
          statusCode: 503,
          error: reasonOf(503),
          message: `the market's lock was taken over (fencing token ${exception.fencingToken} < ${exception.highestToken}); nothing was written, retry`,
        },
        retryAfter: 1,
      };
    }
    if (exception instanceof LockNotAcquiredError || exception instanceof LockLostError) {
      return {
        status: 503,
        body: {
          statusCode: 503,
          error: reasonOf(503),
          message: `the market is busy or its lock is unavailable, retry: ${exception.message}`,
        },
        retryAfter: 1,
      };
    }
    if (exception instanceof RedisConnectionError || isRedisError(exception)) {
      this.logger.warn(`Redis error answered with 503: ${(exception as Error).message}`);
      return {
        status: 503,
        body: { statusCode: 503, error: reasonOf(503), message: 'Redis is unavailable, retry later' },
        retryAfter: 1,
      };
    }
    // Body parsing refused the request: Express's body-parser marks its client errors with `expose`
    // and `status`; Fastify's content-type parser gives a `FST_ERR_CTP_*` code and `statusCode`.
    const candidate = exception as {
      status?: unknown;
      statusCode?: unknown;
      expose?: unknown;
      code?: unknown;
      message?: unknown;
    };
    const clientStatus =
      candidate?.expose === true
        ? candidate.status
        : typeof candidate?.code === 'string' && candidate.code.startsWith('FST_')
          ? candidate.statusCode
          : undefined;
    if (typeof clientStatus === 'number' && clientStatus >= 400 && clientStatus < 500) {
      const status = clientStatus;
      return {
        status,
        body: {
          statusCode: status,
          error: reasonOf(status),
          message: String(candidate.message ?? reasonOf(status)),
        },
      };
    }
    this.logger.error(
      `unexpected error: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    return { status: 500, body: { statusCode: 500, error: reasonOf(500), message: 'internal error' } };
  }

  private fieldError(field: string, reason: string): { status: number; body: ErrorBody } {
    return {
      status: HttpStatus.BAD_REQUEST,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: `${field} ${reason}`,
        errors: [{ field, reason }],
      },
    };
  }
}

/** ioredis errors: a command timeout, no connection, the offline queue being off. */
function isRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Command timed out|Connection is closed|Stream isn't writeable|enableOfflineQueue/.test(error.message)
  );
}
