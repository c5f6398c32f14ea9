import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Content types of the files the page is made of. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
};

/** Safe relative names only: word characters, dots inside names, `/` between; a known extension. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*\.([a-z0-9]+)$/;
/** Largest file served; the page's files are far smaller. */
const MAX_ASSET_BYTES = 2 * 1024 * 1024;

/** One file of the page, ready to send. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

/**
 * The directory of the page's files: the package's `dist/ui/` (compiled from `src/ui/*.ts`, with
 * `console.css` copied), found from this module's own location, so it works installed from npm
 * (this file is `dist/console-assets.js`) and in the monorepo's tests (this file is
 * `src/console-assets.ts`, beside `dist/`).
 */
export function assetDirectory(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  return basename(here) === 'src' ? join(here, '..', 'dist', 'ui') : join(here, 'ui');
}

/**
 * Serves the page's files from one directory and nothing outside it: the name must be a plain
 * relative path of safe characters with a known extension (no `..`, no `%2e`, no backslash, no
 * absolute path), must resolve inside the directory, and must be a file there.
 */
export class ConsoleAssets {
  private readonly root: string;

  constructor(directory: string = assetDirectory()) {
    this.root = resolve(directory);
  }

  /** The file `name` (as it follows `assets/` in the URL, still percent-encoded), or undefined. */
  async read(name: string): Promise<ConsoleAsset | undefined> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      return undefined;
    }
    // `assets/ui/main.js` and `assets/main.js` are the same file: the page's modules live in dist/ui.
    if (decoded.startsWith('ui/')) decoded = decoded.slice(3);
    const match = ASSET_NAME.exec(decoded);
    const contentType = match === null ? undefined : CONTENT_TYPES[match[2] as string];
    if (contentType === undefined || decoded.split('/').some((part) => part === '..' || part === '.')) {
      return undefined;
    }
    const path = resolve(this.root, decoded);
    if (!path.startsWith(this.root + sep)) return undefined;
    try {
      const info = await stat(path);
      if (!info.isFile() || info.size > MAX_ASSET_BYTES) return undefined;
      return { body: await readFile(path), contentType };
    } catch {
      return undefined;
    }
  }
}
