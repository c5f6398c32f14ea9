// What the app benchmark (bench/app.bench.ts) and the server processes it forks
// (bench/app/server.ts) say to each other over the IPC channel.

/** Levels per side of the BTC-USD book an API process seeds: the book rows read the top 20. */
export const SEEDED_LEVELS = 200;

/** The HTTP adapters Nest runs on here. */
export type AdapterName = 'fastify' | 'express';

/** Which server a forked process runs; passed as JSON in its first argument. */
export type ServerSpec =
  | {
      /** A `node:http` server answering `body` (re-serialised per request) on every route. */
      kind: 'bare-node-http';
      body: string;
    }
  | {
      /** A Nest app with one controller answering `body` on GET and POST /bare: no redkit, no globals. */
      kind: 'bare-nest';
      adapter: AdapterName;
      body: string;
    }
  | {
      /** The sample API (createApp), with its order book seeded before it says it is ready. */
      kind: 'api';
      adapter: AdapterName;
      rateLimits: boolean;
      trustProxy: boolean;
      redisUrl: string;
    };

/** Child → parent, once: listening at `url` (or could not start: `error`). */
export type ReadyMessage = { type: 'ready'; url: string } | { type: 'failed'; error: string };

/** Parent → child: asks for the process's CPU time so far. */
export const CPU_REQUEST = 'cpu';

/** Child → parent: the answer to {@link CPU_REQUEST}, user + system, in µs. */
export interface CpuMessage {
  type: 'cpu';
  cpuMicros: number;
}

/** Parent → child: close the server and exit. */
export const STOP_REQUEST = 'stop';

/**
 * Parent → child: start the V8 CPU profiler (node:inspector, in-process), or stop it and write the
 * profile to `file`; the child answers {@link ProfiledMessage}.
 */
export type ProfileRequest = { type: 'profile-start' } | { type: 'profile-stop'; file: string };

/** Child → parent: the profiler started, or the profile was written. */
export interface ProfiledMessage {
  type: 'profiled';
  error?: string;
}
