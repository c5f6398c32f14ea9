// Helpers of the console's real-browser tests: Chromium through playwright-core, a page that
// records every console error, uncaught exception and CSP violation, and where screenshots go.

import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it when missing). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The repository root (this file is test/console/browser-support.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Screenshots and measurements of a run (git-ignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'artifacts/console');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
}

/** A page whose problems (console errors, page errors, CSP violations) land in `problems`. */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

/**
 * A new page in a context of its own, with its problems recorded. CSP violations are reported by
 * a `securitypolicyviolation` listener installed before any page script (Playwright injects init
 * scripts outside the page's CSP) and by Chromium's own console error for each.
 */
export async function watchedPage(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; isMobile?: boolean } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1360, height: 900 },
    isMobile: options.isMobile,
    hasTouch: options.isMobile,
    deviceScaleFactor: options.isMobile ? 2 : 1,
  });
  const page = await context.newPage();
  // Nothing the tests wait for takes long: fail fast rather than at jest's timeout.
  page.setDefaultTimeout(5_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const { url } = message.location();
      problems.push(`console error: ${message.text()}${url ? ` (${url})` : ''}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.exposeBinding('__redkitCspViolation', (_source, text: string) =>
    problems.push(`CSP violation: ${text}`),
  );
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) =>
      window.__redkitCspViolation(event.violatedDirective + ' blocked ' + event.blockedURI + ' at ' +
        event.sourceFile + ':' + event.lineNumber));`,
  });
  return { context, page, problems };
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage });
}

/** The page's JavaScript as shipped: files, raw bytes, and the sum of each file gzipped (level 9). */
export async function shippedScriptSize(
  dir: string,
): Promise<{ files: number; bytes: number; gzipBytes: number }> {
  let files = 0;
  let bytes = 0;
  let gzipBytes = 0;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.js')) continue;
    const content = await readFile(join(dir, name));
    files += 1;
    bytes += content.length;
    gzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return { files, bytes, gzipBytes };
}
