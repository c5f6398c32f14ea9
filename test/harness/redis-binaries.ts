import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const installHint =
  'install it with `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`';

/** True when an executable named `name` is found in a directory of PATH. */
export function isOnPath(name: string): boolean {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    try {
      accessSync(join(directory, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory; keep looking
    }
  }
  return false;
}

/**
 * Throws an Error that says how to install Redis when `redis-server` or `redis-cli` is missing from
 * PATH, so a machine without Redis fails with an instruction instead of a bare ENOENT from spawn.
 */
export function requireRedisBinaries(): void {
  for (const binary of ['redis-server', 'redis-cli']) {
    if (!isOnPath(binary)) throw new Error(`${binary} not found on PATH: ${installHint}`);
  }
}

/**
 * `promtool` (Prometheus's checker), or an Error saying how to install it: Debian's `prometheus`
 * package, which `.ci/run` installs when it is missing.
 */
export function requirePromtool(): string {
  if (!isOnPath('promtool')) {
    throw new Error(
      'promtool not found on PATH: install it with `apt-get install -y prometheus` (Debian/Ubuntu)',
    );
  }
  return 'promtool';
}

/**
 * `prometheus` (the server, for tests that run real queries), or an Error saying how to install it:
 * Debian's `prometheus` package, the same that brings promtool.
 */
export function requirePrometheus(): string {
  if (!isOnPath('prometheus')) {
    throw new Error(
      'prometheus not found on PATH: install it with `apt-get install -y prometheus` (Debian/Ubuntu)',
    );
  }
  return 'prometheus';
}

/** Debian's Python, which Debian's `python3-redis` serves (the first `python3` on PATH may lack it). */
const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * A Python with redis-py, for the wire-format interop tests, or an Error saying how to install it:
 * Debian's `python3-redis`, which `.ci/run` installs when it is missing.
 */
export function requirePythonRedis(): string {
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import redis'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) {
    throw new Error(
      `${DEBIAN_PYTHON} cannot import redis: install it with \`apt-get install -y python3-redis\` (Debian/Ubuntu)`,
    );
  }
  return DEBIAN_PYTHON;
}
