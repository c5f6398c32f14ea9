import { describe, expect, it } from '@jest/globals';
import { BadRequestException, type ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { FencedOutError, LockNotAcquiredError } from '@redkit/lock';
import { OrderBookValidationError, SequenceGapError } from '@redkit/orderbook';
import { RateLimitExceededException } from '@redkit/rate-limit';

import { OrderNotFoundError } from '../exchange/exchange.errors.js';
import { InvalidFieldError } from '../markets/market.js';
import { ApiExceptionFilter } from './exception.filter.js';

/** What the filter wrote to the response. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

function answer(error: unknown): Answer {
  const result: Answer = { status: 0, body: {}, headers: {} };
  const response = {};
  // The four adapter methods the filter answers through (the e2e suites run the real adapters).
  const httpAdapter = {
    isHeadersSent: () => false,
    end() {},
    setHeader(_response: unknown, name: string, value: string) {
      result.headers[name] = value;
    },
    reply(_response: unknown, body: Record<string, unknown>, status: number) {
      result.status = status;
      result.body = body;
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => response }),
  } as unknown as ArgumentsHost;
  // The filter logs unexpected errors; keep the test output quiet.
  const filter = new ApiExceptionFilter({ httpAdapter } as unknown as HttpAdapterHost);
  (filter as unknown as { logger: { error(): void; warn(): void } }).logger = { error() {}, warn() {} };
  filter.catch(error, host);
  return result;
}

describe('ApiExceptionFilter', () => {
  it('answers a refused field with 400 naming it', () => {
    const { status, body } = answer(new InvalidFieldError('price', 'must be above 0'));
    expect(status).toBe(400);
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'price must be above 0',
      errors: [{ field: 'price', reason: 'must be above 0' }],
    });
    expect(answer(new OrderBookValidationError('depth', 'must be a whole number')).body.errors).toEqual([
      { field: 'depth', reason: 'must be a whole number' },
    ]);
  });

  it('maps the libraries typed errors to 404, 409, 429 and 503', () => {
    expect(answer(new OrderNotFoundError('BTC-USD', '7')).status).toBe(404);
    expect(answer(new SequenceGapError('BTC-USD', 3, 5))).toMatchObject({
      status: 409,
      body: { code: 'ORDERBOOK_SEQUENCE_GAP' },
    });
    const busy = answer(new LockNotAcquiredError('book:BTC-USD', 3, 'timeout'));
    expect(busy).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(answer(new FencedOutError('BTC-USD', 3, 9))).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '1' },
    });
    const limited = answer(new RateLimitExceededException('writes', 1_500));
    expect(limited).toMatchObject({
      status: 429,
      body: { statusCode: 429, limit: 'writes', retryAfterSeconds: 2 },
    });
  });

  it('keeps HTTP exceptions and body-parser errors as they are, with a JSON body', () => {
    expect(answer(new BadRequestException('nope'))).toMatchObject({ status: 400, body: { message: 'nope' } });
    const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, expose: true });
    expect(answer(tooLarge)).toMatchObject({
      status: 413,
      body: { statusCode: 413, error: 'Payload Too Large' },
    });
  });

  it('answers anything unexpected with a bare 500, never its message or stack', () => {
    const { status, body } = answer(new TypeError('secret internals at /srv/app.js:12'));
    expect(status).toBe(500);
    expect(body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  });
});
