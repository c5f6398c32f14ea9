// Compiles every lib and app from src/ to dist/ with the same swc settings the tests use.
// Type errors are tsc's job (`npm run typecheck`); this step only emits, so it takes a second.
import { transformFile } from '@swc/core';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

async function swcOptions() {
  const options = JSON.parse(await readFile(join(root, '.swcrc'), 'utf8'));
  delete options.$schema;
  return { ...options, swcrc: false, sourceMaps: true };
}

async function* sourceFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts') && !/\.(spec|spec-helper|d)\.ts$/.test(entry.name)) yield path;
  }
}

async function projectRoots() {
  const roots = [];
  for (const group of ['libs', 'apps']) {
    for (const entry of await readdir(join(root, group), { withFileTypes: true })) {
      if (entry.isDirectory()) roots.push(join(root, group, entry.name));
    }
  }
  return roots;
}

/** Emits dist/ for every project; returns the number of files written. */
export async function build() {
  const options = await swcOptions();
  let count = 0;
  for (const project of await projectRoots()) {
    const src = join(project, 'src');
    const dist = join(project, 'dist');
    await rm(dist, { recursive: true, force: true });
    for await (const file of sourceFiles(src)) {
      const out = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
      const { code, map } = await transformFile(file, {
        ...options,
        filename: file,
        sourceFileName: relative(dirname(out), file),
      });
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, `${code}\n//# sourceMappingURL=${out.split('/').pop()}.map\n`);
      if (map) await writeFile(`${out}.map`, map);
      count += 1;
    }
  }
  return count;
}

/**
 * Set by the test harness once its globalSetup has built dist/. Multi-process tests call this script
 * before forking workers that run dist/; rebuilding then would delete dist/ under another test
 * file's running workers, so the command line skips the build while this is set.
 */
export const BUILT_FOR_TESTS_ENV = 'REDKIT_DIST_BUILT_FOR_TESTS';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.env[BUILT_FOR_TESTS_ENV] === '1') {
    console.log('dist/ was built by the test harness for this run');
  } else {
    const started = Date.now();
    const count = await build();
    console.log(`built ${count} files in ${Date.now() - started} ms`);
  }
}
