// A leader for the coordination bench's leader-after-sigkill row: joins the election, says
// 'elected' once it leads, and is SIGKILLed by the bench (so it never resigns).
import 'reflect-metadata';

import { LockService } from '@redkit/lock';
import { RedisConnection } from '@redkit/redis';

const [url, timingsJson] = process.argv.slice(2);
const connection = await RedisConnection.open('bench-leader-child', { url });
const locks = new LockService(connection);
const elector = locks.election('bench-crash', {
  ...JSON.parse(timingsJson),
  onElected: () => process.send?.('elected'),
});
await elector.start();
