import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { workerOutput } from './nest-logs.js';

/** The repository's root: forked workers run from it, as `npm test` does. */
const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The first IPC message from a forked worker that `predicate` accepts. Rejects if the worker exits
 * first, with its exit code or signal and the end of its stderr when that was piped.
 */
export function messageFrom<T>(child: ChildProcess, predicate: (message: unknown) => boolean): Promise<T> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('message', (message) => predicate(message) && resolve(message as T));
    child.once('exit', (code, signal) => {
      const output = stderr === '' ? '' : `: ${stderr.slice(-2_000)}`;
      reject(new Error(`worker exited (${code ?? signal}) before answering${output}`));
    });
  });
}

/**
 * Forks `count` workers of `script`, worker `i` with `args(i)`, each pushed to `children` as soon as
 * it exists (so the spec's clean-up kills it whatever happens next), and resolves with them once
 * every one has said `'ready'`. Their output shows with REDKIT_TEST_LOGS=1 only.
 */
export async function forkReadyWorkers(
  script: string,
  count: number,
  args: (index: number) => string[],
  children: ChildProcess[],
): Promise<ChildProcess[]> {
  const started = Array.from({ length: count }, (_, index) => {
    const child = fork(script, args(index), {
      cwd: root,
      stdio: ['ignore', workerOutput, workerOutput, 'ipc'],
    });
    children.push(child);
    return child;
  });
  await Promise.all(started.map((child) => messageFrom(child, (message) => message === 'ready')));
  return started;
}
