import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { assetDirectory, ConsoleAssets } from './console-assets.js';

const root = mkdtempSync(join(tmpdir(), 'console-assets-'));
mkdirSync(join(root, 'ui'));
writeFileSync(join(root, 'ui', 'main.js'), 'export {};');
writeFileSync(join(root, 'ui', 'console.css'), 'body{}');
writeFileSync(join(root, 'secret.js'), 'leak');
const assets = new ConsoleAssets(join(root, 'ui'));

describe('ConsoleAssets', () => {
  it('serves the page’s files with their content types', async () => {
    expect(await assets.read('main.js')).toEqual({
      body: Buffer.from('export {};'),
      contentType: 'text/javascript; charset=utf-8',
    });
    expect((await assets.read('ui/console.css'))?.contentType).toBe('text/css; charset=utf-8');
  });

  it.each([
    '../secret.js',
    '..%2Fsecret.js',
    '%2e%2e/secret.js',
    'ui/../../secret.js',
    '/etc/passwd',
    'main.ts',
    'nope.js',
    '%E0%A4%A',
    'a\\..\\secret.js',
  ])('refuses %s', async (name) => {
    expect(await assets.read(name)).toBeUndefined();
  });

  it('finds dist/ui from the source and from the compiled module', () => {
    expect(assetDirectory('file:///pkg/src/console-assets.ts')).toBe('/pkg/dist/ui');
    expect(assetDirectory('file:///pkg/dist/console-assets.js')).toBe('/pkg/dist/ui');
  });
});
