// The app benchmark's side of a server process (bench/app/server.ts): fork it, wait until it
// listens, ask it for its CPU time, profile it, stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import {
  CPU_REQUEST,
  STOP_REQUEST,
  type CpuMessage,
  type ProfiledMessage,
  type ProfileRequest,
  type ReadyMessage,
  type ServerSpec,
} from './protocol.js';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('../lib/register.mjs', import.meta.url));
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServerProcess {
  /** The subject name the process serves, e.g. api-fastify. */
  name: string;
  url: string;
  pid: number;
  /** The process's CPU time so far (user + system), in µs. */
  cpuMicros(): Promise<number>;
  /** Starts the V8 CPU profiler in the process, or stops it and has the profile written to `file`. */
  profile(request: ProfileRequest): Promise<void>;
  /** Asks it to close and exit; kills it if it has not exited within 15 s. */
  stop(): Promise<void>;
}

export async function startServerProcess(name: string, spec: ServerSpec): Promise<ServerProcess> {
  const child = fork(SERVER, [JSON.stringify(spec)], {
    execArgv: ['--enable-source-maps', '--import', REGISTER],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await ready(child, name);
    return {
      name,
      url,
      pid: child.pid ?? 0,
      cpuMicros: cpuReader(child),
      profile: profiler(child, name),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          if (child.connected) child.send(STOP_REQUEST);
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
}

function ready(child: ChildProcess, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name}: not listening after ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    const onMessage = (message: ReadyMessage) => {
      if (message.type !== 'ready' && message.type !== 'failed') return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('message', onMessage);
      if (message.type === 'ready') resolve(message.url);
      else reject(new Error(`${name} could not start: ${message.error}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before listening`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function profiler(child: ChildProcess, name: string): (request: ProfileRequest) => Promise<void> {
  return (request) =>
    new Promise((resolve, reject) => {
      const onMessage = (message: ProfiledMessage) => {
        if (message.type !== 'profiled') return;
        child.off('message', onMessage);
        if (message.error === undefined) resolve();
        else reject(new Error(`${name}: ${request.type}: ${message.error}`));
      };
      child.on('message', onMessage);
      child.send(request);
    });
}

/** Answers come back in the order asked, one at a time. */
function cpuReader(child: ChildProcess): () => Promise<number> {
  const waiting: ((cpuMicros: number) => void)[] = [];
  child.on('message', (message: CpuMessage) => {
    if (message.type === 'cpu') waiting.shift()?.(message.cpuMicros);
  });
  return () =>
    new Promise((resolve, reject) => {
      if (!child.connected) {
        reject(new Error('the server process is gone'));
        return;
      }
      waiting.push(resolve);
      child.send(CPU_REQUEST);
    });
}
