import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Environment variable naming the directory of the current test run (set by globalSetup). */
export const RUN_DIR_ENV = 'REDKIT_TEST_RUN_DIR';

const RUN_DIR_PREFIX = 'redkit-test-run-';
const OWNER_FILE = 'owner.pid';
const PIDS_DIR = 'pids';

let fallbackRunDirectory: string | undefined;

/**
 * The directory of this test run: servers' temp directories live under it and every spawned
 * redis-server leaves its pid there until it is seen to exit, so whoever ends the run can kill what a
 * crashed process left behind. It is REDKIT_TEST_RUN_DIR when globalSetup made one (jest workers
 * inherit it), otherwise a directory for this process alone.
 */
export function runDirectory(): string {
  const fromEnvironment = process.env[RUN_DIR_ENV];
  if (fromEnvironment) return fromEnvironment;
  fallbackRunDirectory ??= createRunDirectory();
  return fallbackRunDirectory;
}

/** Makes a fresh run directory owned by this process. */
export function createRunDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  mkdirSync(join(directory, PIDS_DIR));
  writeFileSync(join(directory, OWNER_FILE), String(process.pid));
  return directory;
}

/** Notes a spawned redis-server so that killRecordedServers can find it if nobody stops it. */
export function recordServerPid(pid: number, port: number): void {
  const pids = join(runDirectory(), PIDS_DIR);
  mkdirSync(pids, { recursive: true });
  writeFileSync(join(pids, String(pid)), `${port}\n`);
}

/** Drops the note once the server has been seen to exit. */
export function forgetServerPid(pid: number): void {
  try {
    unlinkSync(join(runDirectory(), PIDS_DIR, String(pid)));
  } catch {
    // already gone, or the run directory was removed by globalTeardown
  }
}

/**
 * SIGKILLs every redis-server recorded in `directory` that is still alive and waits (up to 2 s) for
 * them to go. Returns how many it killed.
 */
export async function killRecordedServers(directory: string): Promise<number> {
  let pids: number[];
  try {
    pids = readdirSync(join(directory, PIDS_DIR)).map(Number).filter(Number.isInteger);
  } catch {
    return 0;
  }
  // A pid recorded long ago may belong to someone else by now, so a process is only killed when it
  // still runs inside this run directory (every harness server's --dir is a directory below it).
  const root = realpathSync(directory);
  const orphans = pids.filter((pid) => isAlive(pid) && runsInside(pid, root));
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited in between
    }
  }
  const deadline = Date.now() + 2_000;
  while (orphans.some(isAlive) && Date.now() < deadline) await sleep(20);
  return orphans.length;
}

/** Kills what `directory` recorded, then deletes it with every server temp directory inside. */
export async function removeRunDirectory(directory: string): Promise<void> {
  await killRecordedServers(directory);
  rmSync(directory, { recursive: true, force: true });
}

/**
 * Cleans up after earlier runs whose owning process died without a teardown (a SIGKILLed jest, a
 * closed terminal): kills their recorded servers and removes their directories. Runs whose owner is
 * alive, such as a concurrent jest in another checkout, are left alone.
 */
export async function sweepAbandonedRuns(): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((name) => name.startsWith(RUN_DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const directory = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(directory, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not one of ours, or being created right now
    }
    if (owner === process.pid || (Number.isInteger(owner) && isAlive(owner))) continue;
    await removeRunDirectory(directory);
  }
}

/** Signal 0 tests for existence; a zombie (exited, not yet reaped) does not count as alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs (macOS): trust signal 0
  }
}

/** Whether the process's working directory is below `root`; true when there is no procfs to ask. */
function runsInside(pid: number, root: string): boolean {
  if (!existsSync('/proc/self/cwd')) return true; // no procfs (macOS): the pid was recorded by us and is alive
  try {
    return readlinkSync(`/proc/${pid}/cwd`).startsWith(`${root}/`);
  } catch {
    return false; // gone, or not ours to inspect
  }
}
