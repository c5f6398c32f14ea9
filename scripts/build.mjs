// Compiles every lib and app from src/ to dist/ with the same swc settings the tests use, then
// emits each lib's type declarations (.d.ts and declaration maps) with TypeScript 7's tsc.
// Type errors are `npm run typecheck`'s job; the JavaScript takes a second, the declarations a few.
import { transformFile } from '@swc/core';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/tsgo/bin/tsc');

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

/** Files shipped as they are beside the compiled JavaScript: stylesheets (the console's page). */
async function* copiedFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* copiedFiles(path);
    else if (entry.name.endsWith('.css')) yield path;
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

/**
 * The libs (folder name and package.json) in an order where each comes after the @redkit/* packages
 * it depends on, read from their manifests so that a new lib or dependency needs no edit here.
 */
export async function libraries() {
  const libs = [];
  for (const entry of await readdir(join(root, 'libs'), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const manifest = JSON.parse(await readFile(join(root, 'libs', entry.name, 'package.json'), 'utf8'));
    libs.push({ folder: entry.name, manifest });
  }
  const byName = new Map(libs.map((lib) => [lib.manifest.name, lib]));
  const ordered = [];
  const visit = (lib, path = []) => {
    if (ordered.includes(lib)) return;
    if (path.includes(lib))
      throw new Error(`@redkit dependency cycle: ${[...path, lib].map((l) => l.folder)}`);
    const { dependencies = {}, peerDependencies = {} } = lib.manifest;
    for (const name of Object.keys({ ...dependencies, ...peerDependencies })) {
      if (byName.has(name)) visit(byName.get(name), [...path, lib]);
    }
    ordered.push(lib);
  };
  for (const lib of libs) visit(lib);
  return ordered;
}

/** Emits one lib's declarations; another @redkit/* import resolves to that lib's own dist/. */
function emitDeclarations(folder) {
  return promisify(execFile)(
    process.execPath,
    [tsc, '-p', join(root, 'libs', folder, 'tsconfig.build.json')],
    {
      cwd: root,
    },
  ).catch((error) => {
    throw new Error(`declarations of libs/${folder}: ${error.stdout || error.message}`);
  });
}

/**
 * Emits dist/ for every project: JavaScript with swc, then (unless `declarations` is false, as for
 * `npm start` and the benchmarks, which only run it) each lib's declarations, every lib as soon as
 * the libs it imports have theirs. Returns the number of JavaScript files written.
 */
export async function build({ declarations = true } = {}) {
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
    for await (const file of copiedFiles(src)) {
      const out = join(dist, relative(src, file));
      await mkdir(dirname(out), { recursive: true });
      await copyFile(file, out);
    }
  }
  if (declarations) {
    const emitted = new Map();
    for (const { folder, manifest } of await libraries()) {
      const { dependencies = {}, peerDependencies = {} } = manifest;
      const before = Object.keys({ ...dependencies, ...peerDependencies }).flatMap(
        (name) => emitted.get(name) ?? [],
      );
      emitted.set(
        manifest.name,
        Promise.all(before).then(() => emitDeclarations(folder)),
      );
    }
    await Promise.all(emitted.values());
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
