// What the console's API specs share: the app listening on a loopback port, the clean-up of its
// keys on the shared Redis, and a reader of its live stream (server-sent events).

import { get, type IncomingMessage } from 'node:http';

import type { INestApplication } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { RedisConnection } from '@redkit/redis';

import { createHttpApp, deleteKeys, sharedAdminRedisUrl, type HttpAdapterName } from '../harness/index.js';

/** The compiled module as an app on `adapter`, listening on 127.0.0.1 (for the live stream's URL). */
export async function listenConsoleApp(
  moduleRef: TestingModule,
  adapter: HttpAdapterName,
): Promise<INestApplication> {
  const app = await createHttpApp(moduleRef, adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

/** Closes `app` (when it started) and deletes every key under `keyPrefix` on the shared Redis. */
export async function closeConsoleApp(app: INestApplication | undefined, keyPrefix: string): Promise<void> {
  await app?.close();
  await deleteConsoleKeys(keyPrefix);
}

/** Deletes every key under `keyPrefix` on the shared Redis. */
export async function deleteConsoleKeys(keyPrefix: string): Promise<void> {
  const connection = await RedisConnection.open('cleanup', { url: sharedAdminRedisUrl(), keyPrefix });
  await deleteKeys(connection, keyPrefix);
  await connection.close();
}

/** The URL of the console's live stream (`api/live`) on a listening app. */
export async function liveUrl(app: INestApplication): Promise<string> {
  return `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/console/api/live`;
}

/** One server-sent event: its `event:` name (`message` without one) and its `data:` lines joined. */
export interface SseEvent {
  type: string;
  data: string;
}

/**
 * Reads the server-sent events at `url`, every block in order (a heartbeat comment as an event
 * without data), until `onEvent` calls `stop`: resolved by `stop()`, rejected by `stop(error)`, by
 * a request error, or after `timeoutMs` with `timeoutMessage()`. The connection is closed then.
 */
export function readSse(
  url: string,
  onEvent: (event: SseEvent, stop: (error?: unknown) => void) => void,
  timeoutMs: number,
  timeoutMessage: () => string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let response: IncomingMessage | undefined;
    let stopped = false;
    const stop = (error?: unknown) => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      response?.destroy();
      request.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const request = get(url, { headers: { Accept: 'text/event-stream' } }, (incoming) => {
      response = incoming;
      let buffer = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while (!stopped && (end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { type: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event.type = line.slice(7);
            else if (line.startsWith('data: ')) event.data += line.slice(6);
          }
          onEvent(event, stop);
        }
      });
    });
    const timer = setTimeout(() => stop(new Error(timeoutMessage())), timeoutMs);
    request.on('error', (error) => stop(error));
  });
}
