// One server of the app benchmark, in a process of its own (forked by bench/app.bench.ts, so that
// autocannon's load generation and the other servers do not share its event loop): a bare node:http
// server, a bare Nest app, or the sample API (apps/orderbook-api's createApp, its TypeScript compiled
// with the same swc configuration as `npm start`'s build, the libs from their dist).
//
// The spec (bench/app/protocol.ts) comes as JSON in the first argument. Once listening, the process
// sends { type: 'ready', url }; it answers 'cpu' with its CPU time so far, 'stop' by closing the
// server and exiting, and profile-start / profile-stop by running V8's CPU profiler in-process
// (node:inspector) over the benchmark's window only, startup excluded.
import 'reflect-metadata';

import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

import { startBareNest, startBareNodeHttp, type RunningServer } from './bare-servers.js';
import {
  CPU_REQUEST,
  STOP_REQUEST,
  type CpuMessage,
  type ProfiledMessage,
  type ProfileRequest,
  type ReadyMessage,
  type ServerSpec,
} from './protocol.js';

function start(spec: ServerSpec): Promise<RunningServer> {
  switch (spec.kind) {
    case 'bare-node-http':
      return startBareNodeHttp(spec.body);
    case 'bare-nest':
      return startBareNest(spec.adapter, spec.body);
    case 'api':
      // Imported only here: the bare servers load neither the app nor the libs.
      return import('./api-server.js').then(({ startApi }) => startApi(spec));
  }
}

function send(message: ReadyMessage | CpuMessage | ProfiledMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ServerSpec;
  let server: RunningServer;
  try {
    server = await start(spec);
  } catch (error) {
    await send({ type: 'failed', error: String((error as Error)?.stack ?? error) });
    process.exit(1);
  }
  process.on('message', (message) => {
    if (message === CPU_REQUEST) {
      const usage = process.cpuUsage();
      void send({ type: 'cpu', cpuMicros: usage.user + usage.system });
    } else if (message === STOP_REQUEST) {
      void server.close().finally(() => process.exit(0));
    } else if (typeof message === 'object' && message !== null && 'type' in message) {
      void profile(message as ProfileRequest).then(
        () => send({ type: 'profiled' }),
        (error: unknown) => send({ type: 'profiled', error: String(error) }),
      );
    }
  });
  // The benchmark went away without saying stop: do not outlive it.
  process.on('disconnect', () => void server.close().finally(() => process.exit(0)));
  await send({ type: 'ready', url: server.url });
}

let session: Session | undefined;

async function profile(request: ProfileRequest): Promise<void> {
  if (request.type === 'profile-start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    return;
  }
  if (session === undefined) throw new Error('the profiler was not started');
  const { profile: result } = await session.post('Profiler.stop');
  session.disconnect();
  session = undefined;
  await writeFile(request.file, JSON.stringify(result));
}

void main();
