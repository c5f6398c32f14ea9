// `npm run pack`: builds every lib and writes one npm tarball per lib into artifacts/, the files a
// user installs (`npm install ./artifacts/redkit-cache-0.1.0.tgz`, or the registry's copy of it).
//
// Each lib is packed from a staging folder holding what its `files` names plus a package.json
// without the `redkit-source` export condition: that condition points at src/index.ts, which lets
// the monorepo's tsc and jest read the TypeScript source, and which no published package holds.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { BUILT_FOR_TESTS_ENV, build, libraries } from './build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_CONDITION = 'redkit-source';

/** The manifest a lib is published with: its own, minus the monorepo-only source condition. */
export function publishedManifest(manifest) {
  const withoutSource = (target) => {
    if (target === null || typeof target !== 'object') return target;
    return Object.fromEntries(
      Object.entries(target)
        .filter(([condition]) => condition !== SOURCE_CONDITION)
        .map(([condition, value]) => [condition, withoutSource(value)]),
    );
  };
  return { ...manifest, exports: withoutSource(manifest.exports) };
}

async function packOne({ folder, manifest }, stagingRoot, destination) {
  const lib = join(root, 'libs', folder);
  const staged = join(stagingRoot, folder);
  await mkdir(staged, { recursive: true });
  await writeFile(join(staged, 'package.json'), `${JSON.stringify(publishedManifest(manifest), null, 2)}\n`);
  // npm applies `files` (and always adds README and LICENSE) when it packs the staged folder.
  for (const entry of await readdir(lib)) {
    if (entry === 'dist' || /^(README|LICENSE|CHANGELOG)/i.test(entry))
      await cp(join(lib, entry), join(staged, entry), { recursive: true });
  }
  const { stdout } = await promisify(execFile)('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: staged,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  const [{ filename, files }] = JSON.parse(stdout);
  return {
    name: manifest.name,
    version: manifest.version,
    tarball: join(destination, filename),
    files: files.map((f) => f.path),
  };
}

/**
 * Packs every lib into `destination` (created if missing; tarballs already there are replaced).
 * Builds first unless `build` is false or the test harness has built dist/ for this run.
 * Returns, per lib, its name, version, tarball path and the paths the tarball holds.
 */
export async function pack({ destination = join(root, 'artifacts'), build: buildFirst = true } = {}) {
  if (buildFirst && process.env[BUILT_FOR_TESTS_ENV] !== '1') await build();
  await mkdir(destination, { recursive: true });
  for (const entry of await readdir(destination)) {
    if (entry.endsWith('.tgz')) await rm(join(destination, entry));
  }
  const stagingRoot = await mkdtemp(join(tmpdir(), 'redkit-pack-'));
  try {
    return await Promise.all((await libraries()).map((lib) => packOne(lib, stagingRoot, destination)));
  } finally {
    await rm(stagingRoot, { recursive: true, force: true });
  }
}

// `node scripts/pack.mjs [--destination <dir>] [--json]`: --json prints what pack() returns.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { destination: { type: 'string' }, json: { type: 'boolean' } } });
  const packed = await pack({ destination: values.destination && resolve(values.destination) });
  if (values.json) console.log(JSON.stringify(packed));
  else
    for (const { tarball, files } of packed)
      console.log(`${relative(root, tarball)}  (${files.length} files)`);
}
