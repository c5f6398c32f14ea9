import { existsSync } from 'node:fs';
import Module from 'node:module';
import { dirname, resolve } from 'node:path';

type ResolveFilename = (
  this: unknown,
  request: string,
  parent: { filename?: string } | undefined,
  ...rest: unknown[]
) => string;

/**
 * Loads a harness module from jest's globalSetup or globalTeardown.
 *
 * jest loads those two files through its CommonJS require hook, outside the test runtime, where the
 * moduleNameMapper of jest.config.mjs does not apply (jestjs/jest#11644): the ESM sources' './x.js'
 * specifiers would name files that do not exist. While `specifier` and its imports load, a relative
 * '.js' specifier from a TypeScript file that names no file resolves to the '.ts' file beside it, the
 * same rule moduleNameMapper applies in tests. Resolution is restored afterwards.
 *
 * `specifier` is relative to this directory. Call it while jest's hook is active, that is while the
 * globalSetup/globalTeardown module itself loads, not later from its exported function.
 */
export function requireEsmSource<T>(specifier: string): T {
  const internals = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = internals._resolveFilename;
  internals._resolveFilename = function (request, parent, ...rest) {
    const parentFile = parent?.filename;
    if (request.startsWith('.') && request.endsWith('.js') && parentFile?.endsWith('.ts')) {
      const typescriptFile = resolve(dirname(parentFile), `${request.slice(0, -3)}.ts`);
      if (!existsSync(resolve(dirname(parentFile), request)) && existsSync(typescriptFile)) {
        return original.call(this, typescriptFile, parent, ...rest);
      }
    }
    return original.call(this, request, parent, ...rest);
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading as CommonJS is the point
    return require(specifier) as T;
  } finally {
    internals._resolveFilename = original;
  }
}
