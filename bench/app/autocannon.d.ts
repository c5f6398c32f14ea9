// The part of autocannon's API the app benchmark uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }
  export interface AutocannonOptions {
    url: string;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    /** Milliseconds between samples; the run's end is noticed on a sample. Default 1000. */
    sampleInt?: number;
    /** Replace `[<id>]` in each request with a unique id. */
    idReplacement?: boolean;
    /** The sequence of requests each connection loops over. */
    requests?: AutocannonRequest[];
  }
  export interface AutocannonResult {
    requests: { average: number; total: number };
    /** Seconds the run lasted. */
    duration: number;
    /** Percentiles in ms, of 2xx answers only. */
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  }
  export interface AutocannonInstance extends EventEmitter {
    on(
      event: 'response',
      listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void,
    ): this;
    stop(): void;
  }
  function autocannon(
    options: AutocannonOptions,
    done: (error: Error | null, result: AutocannonResult) => void,
  ): AutocannonInstance;
  export default autocannon;
}
