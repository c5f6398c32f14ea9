// The app benchmark's limits: servers that answer the sample API's cached depth-20 book without
// doing any of its work. Each parses the body once and serialises it again on every request, as a
// handler returning an object does, so that every row of a scenario sends the same bytes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Body, Controller, Get, HttpCode, Module, Post, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

import type { AdapterName } from './protocol.js';

/** A started server: its URL and how to close it. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A bare `node:http` server: every request is read to its end and answered with `body` (200, JSON).
 * What HTTP on Node costs before any framework.
 */
export async function startBareNodeHttp(body: string): Promise<RunningServer> {
  const value: unknown = JSON.parse(body);
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const text = JSON.stringify(value);
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      response.end(text);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A bare Nest app (no redkit, no global guard, pipe, interceptor or filter) on `adapter`. */
export async function startBareNest(adapter: AdapterName, body: string): Promise<RunningServer> {
  const value: unknown = JSON.parse(body);

  @Controller()
  class BareController {
    @Get('bare')
    read(): unknown {
      return value;
    }

    // The place-order rows POST a JSON order: parsed, then the same answer.
    @Post('bare')
    @HttpCode(200)
    write(@Body() _order: unknown): unknown {
      return value;
    }
  }

  @Module({ controllers: [BareController] })
  class BareModule {}

  const app: INestApplication = await NestFactory.create(
    BareModule,
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: ['error'] },
  );
  await app.listen(0, '127.0.0.1');
  return { url: await loopbackUrl(app), close: () => app.close() };
}

/** The app's URL on 127.0.0.1 (Nest reports [::1] or localhost for a loopback listener). */
export async function loopbackUrl(app: INestApplication): Promise<string> {
  return (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
}
