import 'reflect-metadata';

import { describe, expect, it } from '@jest/globals';
import { BadRequestException, type ArgumentMetadata } from '@nestjs/common';

import { BookQuery, PlaceOrderRequest } from '../exchange/requests.dto.js';
import { createValidationPipe } from './validation.js';

const query: ArgumentMetadata = { type: 'query', metatype: BookQuery, data: '' };

describe('the app-wide validation pipe', () => {
  it('turns a repeated query string into an equal DTO each time, a fresh object the handler may change', async () => {
    const pipe = createValidationPipe();
    const first = (await pipe.transform({ depth: '20', fresh: 'true' }, query)) as BookQuery;
    first.depth = 99;
    const second = (await pipe.transform({ depth: '20', fresh: 'true' }, query)) as BookQuery;
    expect(second).toBeInstanceOf(BookQuery);
    expect({ ...second }).toEqual({ depth: 20, fresh: 'true' });
    expect(second).not.toBe(first);
  });

  it('refuses an invalid query every time, naming the field, however often it comes', async () => {
    const pipe = createValidationPipe();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const refused = pipe.transform({ depth: 'oops' }, query);
      await expect(refused).rejects.toBeInstanceOf(BadRequestException);
      await expect(refused).rejects.toMatchObject({
        response: { message: 'depth must be a whole number from 1 to 500' },
      });
    }
    for (const depth of ['0', '501', '2.5']) {
      await expect(pipe.transform({ depth }, query)).rejects.toMatchObject({
        response: { message: 'depth must be a whole number from 1 to 500' },
      });
    }
    await expect(pipe.transform({ depth: '20', extra: 'x' }, query)).rejects.toBeInstanceOf(
      BadRequestException,
    );
  });

  it('tells an absent required field only that it is required', async () => {
    const body: ArgumentMetadata = { type: 'body', metatype: PlaceOrderRequest, data: '' };
    await expect(createValidationPipe().transform({ price: '1.5' }, body)).rejects.toMatchObject({
      response: {
        message: 'side is required',
        errors: [
          { field: 'side', reason: 'side is required' },
          { field: 'quantity', reason: 'quantity is required' },
        ],
      },
    });
  });

  it('tells a body that is not a JSON object so, whatever it is instead', async () => {
    const body: ArgumentMetadata = { type: 'body', metatype: PlaceOrderRequest, data: '' };
    for (const value of [[1, 2], 'buy', 42, true]) {
      await expect(createValidationPipe().transform(value, body)).rejects.toMatchObject({
        response: {
          message: 'the body must be a JSON object',
          errors: [{ field: 'body', reason: 'the body must be a JSON object' }],
        },
      });
    }
  });
});
