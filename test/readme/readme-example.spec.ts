import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';

import { createHttpApp, eventually, HTTP_ADAPTERS, sharedRedisUrl } from '../harness/index.js';
import * as example from './all-modules.example.js';

describe.each(HTTP_ADAPTERS)("the root README's all-modules example on %s", (adapter) => {
  // The example keeps its balances in module state: each adapter's run uses its own accounts.
  const a1 = `a1-${adapter}`;
  const b2 = `b2-${adapter}`;
  let app: INestApplication;

  beforeAll(async () => {
    const keyPrefix = `readme${process.pid}${Date.now().toString(36)}`;
    const moduleRef = await Test.createTestingModule({
      imports: [example.appModule({ url: sharedRedisUrl(), keyPrefix })],
    }).compile();
    app = await createHttpApp(moduleRef, adapter, { logger: false });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('caches reads, serializes withdrawals under the lock, evicts, publishes and rate-limits', async () => {
    example.balances.set(a1, 100);
    const loadsBefore = example.loads;
    const server = app.getHttpServer();
    const reads = await Promise.all(
      Array.from({ length: 5 }, () => request(server).get(`/accounts/${a1}/balance`)),
    );
    expect(reads.map((response) => response.text)).toEqual(['100', '100', '100', '100', '100']);
    expect(example.loads - loadsBefore).toBe(1);
    expect(reads[0]?.headers['ratelimit-policy']).toBeDefined();

    const writes = await Promise.all(
      Array.from({ length: 3 }, () => request(server).post(`/accounts/${a1}/withdrawals`)),
    );
    expect(writes.map((response) => response.status)).toEqual([201, 201, 201]);
    expect(example.balances.get(a1)).toBe(70);
    expect((await request(server).get(`/accounts/${a1}/balance`)).text).toBe('70');
    await eventually(() =>
      expect(example.audited.filter((line) => line === `account.changed ${a1}`)).toHaveLength(3),
    );

    const flood = await Promise.all(
      Array.from({ length: 12 }, () => request(server).post(`/accounts/${b2}/withdrawals`)),
    );
    expect(flood.filter((response) => response.status === 429).length).toBeGreaterThanOrEqual(5);
  });
});
