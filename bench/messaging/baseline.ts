// The messaging lib as it was before its tracing hooks landed, compiled for the benchmark's
// `redkit-untraced-baseline` subject, so that what "tracing off" costs is measured against the same
// stream and event code without the hooks, in the same process and run.
//
// The commit that added libs/messaging/src/messaging.tracing.ts is found in git history; its parent's
// libs/messaging/src is read blob by blob (git show, nothing checked out, the work tree untouched)
// and compiled with swc and the repo's .swcrc, as scripts/build.mjs compiles the libs, into
// node_modules/.cache/redkit-bench/messaging-baseline-<commit>/ (git-ignored, reused by later runs).
// Its bare imports resolve from there up to the repo's node_modules, so it runs on the current
// @redkit/redis and @redkit/metrics dist: only messaging's own hooks differ.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { transform, type Options } from '@swc/core';
import type * as Messaging from '@redkit/messaging';

/** The parts of @redkit/messaging the benchmark drives; the baseline has the same constructors. */
export type MessagingLib = Pick<typeof Messaging, 'EventBus' | 'StreamConsumer' | 'StreamProducer'>;

/** The baseline, or why there is none (the subject is skipped with that reason). */
export type Baseline =
  { lib: MessagingLib; commit: string; addedBy: string; built: boolean } | { lib: null; reason: string };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TRACING_FILE = 'libs/messaging/src/messaging.tracing.ts';
const SOURCE_DIR = 'libs/messaging/src';
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'redkit-bench');
/** Written last: a folder without it is a build that did not finish, and is rebuilt. */
const COMPLETE_MARKER = '.complete';
const GIT_TIMEOUT_MS = 30_000;

const run = promisify(execFile);

async function git(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', ['-C', ROOT, ...args], {
      timeout: GIT_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    // execFile's message is the command line; what git said is on stderr.
    const said = String((error as { stderr?: unknown }).stderr ?? '')
      .trim()
      .split('\n')[0];
    throw new Error(`git ${args[0]}: ${said || (error instanceof Error ? error.message : String(error))}`);
  }
}

/** The commit that added the tracing hooks (the oldest one that touched the file) and its parent. */
async function baselineCommit(): Promise<{ commit: string; addedBy: string }> {
  const added = (await git('log', '--format=%H', '--diff-filter=A', '--', TRACING_FILE)).trim().split('\n');
  const addedBy = added[added.length - 1];
  if (addedBy === undefined || addedBy === '')
    throw new Error(`git history has no commit adding ${TRACING_FILE}`);
  const commit = (await git('rev-parse', '--verify', `${addedBy}^{commit}^`)).trim();
  return { commit, addedBy };
}

async function swcOptions(): Promise<Options> {
  const swcrc = JSON.parse(await readFile(join(ROOT, '.swcrc'), 'utf8')) as Options & { $schema?: string };
  delete swcrc.$schema;
  return { ...swcrc, swcrc: false, sourceMaps: 'inline' };
}

/** Compiles `commit`'s messaging sources into `dist` (written beside it, then renamed into place). */
async function build(commit: string, dist: string): Promise<void> {
  const files = (await git('ls-tree', '-r', '--name-only', commit, '--', SOURCE_DIR))
    .split('\n')
    .filter((path) => path.endsWith('.ts') && !/\.(spec|spec-helper|d)\.ts$/.test(path));
  if (!files.includes(`${SOURCE_DIR}/index.ts`)) throw new Error(`${commit} has no ${SOURCE_DIR}/index.ts`);
  const options = await swcOptions();
  const staging = `${dist}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    for (const path of files) {
      const source = await git('show', `${commit}:${path}`);
      const { code } = await transform(source, { ...options, filename: path });
      const out = join(staging, path.slice(SOURCE_DIR.length + 1).replace(/\.ts$/, '.js'));
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, code);
    }
    // The compiled files are ESM (.js), and nothing above the cache folder says so.
    await writeFile(join(staging, 'package.json'), '{ "type": "module" }\n');
    await writeFile(join(staging, COMPLETE_MARKER), `${commit}\n`);
    await rm(dist, { recursive: true, force: true });
    await rename(staging, dist);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Finds, builds (once per commit) and imports the baseline messaging lib. Never throws: a checkout
 * without git history, a failed build or a failed import gives the reason instead.
 */
export async function loadBaseline(): Promise<Baseline> {
  let step = 'finding the commit before the messaging tracing hooks';
  try {
    const { commit, addedBy } = await baselineCommit();
    const dist = join(CACHE_DIR, `messaging-baseline-${commit.slice(0, 12)}`);
    const built = !existsSync(join(dist, COMPLETE_MARKER));
    if (built) {
      step = `building libs/messaging of ${commit.slice(0, 12)}`;
      await build(commit, dist);
    }
    step = `importing ${dist}`;
    const lib = (await import(pathToFileURL(join(dist, 'index.js')).href)) as MessagingLib;
    for (const name of ['EventBus', 'StreamConsumer', 'StreamProducer'] as const) {
      if (typeof lib[name] !== 'function') throw new Error(`it exports no ${name}`);
    }
    return { lib, commit, addedBy, built };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { lib: null, reason: `${step} failed: ${message}` };
  }
}
