// The app benchmark's load: autocannon keeping 64 connections busy (one request in flight each, no
// HTTP pipelining) for a fixed time, with every response's latency and status recorded here.
//
// autocannon's own latency histogram only takes 2xx answers and has 1 ms resolution; the 429 rows
// answer almost nothing but 429, and the fast rows answer within a few ms, so each response's
// latency (autocannon's per-request timer, in fractional ms) goes into bench/lib's histogram instead,
// whatever its status.
import autocannon from 'autocannon';

import { LatencyHistogram } from '../lib/histogram.js';
import { DEFAULT_IN_FLIGHT } from '../lib/measure.js';

/** One request of the sequence each connection loops over. */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Load {
  /** The server's origin (http://127.0.0.1:port). */
  origin: string;
  requests: readonly LoadRequest[];
  /** autocannon replaces `[<id>]` anywhere in a request (headers too) with a unique id per request. */
  idReplacement?: boolean;
}

export interface LoadResult {
  /** Responses received (any status). */
  responses: number;
  seconds: number;
  /** Responses by HTTP status. */
  statuses: Map<number, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /** Bytes received per response on average (headers and body). */
  bytesPerResponse: number;
}

/** Runs `load` for `seconds`; latencies (ns) go into `histogram` when given. */
export function runLoad(load: Load, seconds: number, histogram?: LatencyHistogram): Promise<LoadResult> {
  const statuses = new Map<number, number>();
  let responses = 0;
  let bytes = 0;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: load.origin,
        connections: DEFAULT_IN_FLIGHT,
        pipelining: 1,
        duration: seconds,
        // autocannon notices the end of the duration on its sampling tick: a short tick, so that a
        // run lasts about `seconds` and not up to a second more.
        sampleInt: 100,
        idReplacement: load.idReplacement ?? false,
        requests: load.requests.map((request) => ({ ...request })),
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        resolve({
          responses,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
          statuses,
          errors: result.errors + result.timeouts,
          bytesPerResponse: responses === 0 ? 0 : Math.round(bytes / responses),
        });
      },
    );
    instance.on('response', (_client, statusCode, resBytes, responseTimeMs) => {
      responses += 1;
      bytes += resBytes;
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
      histogram?.record(responseTimeMs * 1e6);
    });
  });
}
