import type { ChildProcess } from 'node:child_process';

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
