import { tracingEnabled } from '@redkit/redis';

function hasNodeFlag(flag: string): boolean {
  return process.execArgv.includes(flag) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(flag);
}

/**
 * Whether the API gives every request a correlation id when CORRELATION_IDS is unset (`auto`).
 *
 * Correlation ids live in an AsyncLocalStorage. From Node 24 on it is kept in the async context
 * frame and costs next to nothing; before (Node 20, and 22 without
 * `--experimental-async-context-frame`), its first `run()` turns async hooks on for every promise of
 * the process, measured at +26 µs of CPU per sample-API request on Node 20 (62 against 36 µs for a
 * cached book). So `auto` turns them on where they are cheap, or where an OpenTelemetry SDK is
 * registered (its context manager pays that cost already, and traces want the ids).
 */
export function correlationIdsByDefault(): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  const contextFrames =
    major >= 24
      ? !hasNodeFlag('--no-async-context-frame')
      : hasNodeFlag('--experimental-async-context-frame');
  return contextFrames || tracingEnabled();
}
