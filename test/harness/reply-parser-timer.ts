// jest setupFiles. After a reply too large for one socket read, ioredis's reply parser (redis-parser 3)
// shrinks its shared buffer pool back with a 50 ms setInterval that it never unrefs and that only
// stops once the pool is under 50 KB: seconds after orderbook-store's 10,000-level snapshot. Each test
// file loads its own copy of the parser, so that timer outlives the file that armed it, and a jest
// worker whose last file had read such a reply missed its exit deadline and was force exited. That one
// timer is unref'd here; any other timer a test file leaves behind still holds the worker, as it
// should, so that jest keeps reporting real leaks.
const originalSetInterval = globalThis.setInterval;

function setIntervalUnrefParserPool(
  callback: (...args: unknown[]) => void,
  ms?: number,
  ...args: unknown[]
): NodeJS.Timeout {
  const timer = originalSetInterval(callback, ms, ...args);
  if (callback.name === 'decreaseBufferPool') timer.unref();
  return timer;
}

globalThis.setInterval = Object.assign(
  setIntervalUnrefParserPool,
  originalSetInterval,
) as typeof globalThis.setInterval;
