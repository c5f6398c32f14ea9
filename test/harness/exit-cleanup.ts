import type { ChildProcess } from 'node:child_process';
import { runInThisContext } from 'node:vm';

/** Children to SIGKILL if this process exits while they still run. */
const children = new Set<ChildProcess>();

/**
 * The real `process`. Inside a jest test file `process` is a copy whose 'exit' event never fires, so
 * the listener goes on the one from Node's main context instead.
 */
const hostProcess = runInThisContext('process') as NodeJS.Process;

function killChildren(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Makes sure `child` dies with this process (best effort: 'exit' does not fire on SIGKILL, which is
 * what the run directory's pid records are for). The listener is only installed while children
 * live, so test files loading their own copy of this module do not pile up listeners.
 */
export function killOnExit(child: ChildProcess): void {
  if (children.size === 0) hostProcess.on('exit', killChildren);
  children.add(child);
}

/** Forgets `child` once it has exited. */
export function releaseOnExit(child: ChildProcess): void {
  if (children.delete(child) && children.size === 0) hostProcess.off('exit', killChildren);
}
