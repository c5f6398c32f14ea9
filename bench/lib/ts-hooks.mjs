// Node module hooks (registered by register.mjs) that run the benchmark TypeScript without a build:
//
// - resolve: a relative import written './x.js', as ESM TypeScript requires, falls back to './x.ts'
//   when no x.js exists next to the importer.
// - load: a .ts file outside node_modules is compiled by swc with the repo's .swcrc, in memory, with
//   an inline source map (run node with --enable-source-maps to get TypeScript lines in stacks).
//
// Everything else (node_modules, the compiled libs/*/dist) goes through Node's own resolve and load.
import { transform } from '@swc/core';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const swcrc = JSON.parse(await readFile(new URL('../../.swcrc', import.meta.url), 'utf8'));
delete swcrc.$schema;
const swcOptions = { ...swcrc, swcrc: false, sourceMaps: 'inline' };

const isOurTypeScript = (url) =>
  url.startsWith('file:') && url.endsWith('.ts') && !url.endsWith('.d.ts') && !url.includes('/node_modules/');

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !relative || !specifier.endsWith('.js')) throw error;
    if (!context.parentURL || !isOurTypeScript(context.parentURL)) throw error;
    return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
  }
}

export async function load(url, context, nextLoad) {
  if (!isOurTypeScript(url)) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const { code } = await transform(await readFile(filename, 'utf8'), { ...swcOptions, filename });
  return { format: 'module', source: code, shortCircuit: true };
}
