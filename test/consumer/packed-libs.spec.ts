// What a user installs is the packed tarball, not this repository. This file packs every lib, checks
// the tarballs with the ecosystem's own tools, then installs them into a Nest app in a temporary
// folder outside the repository (test/consumer/app: its own package.json, public packages from
// the registry, no path mapping, no access to libs/*/src), type-checks it with `tsc --strict`, and
// runs it on Express and on Fastify against a real redis-server.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import semver from 'semver';

import { eventually, killWorkersAndDeleteKeys, sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const LIBS = ['cache', 'console', 'lock', 'messaging', 'metrics', 'orderbook', 'rate-limit', 'redis'];
/** Packing, and installing from the registry: a cold npm cache may take a minute or two. */
const INSTALL_TIMEOUT_MS = 240_000;

interface PackedLib {
  name: string;
  version: string;
  tarball: string;
  files: string[];
}

let scratch: string;
let packed: PackedLib[];

/** A folder scripts/test-node-lines.mjs prepared once for every Node line, or none. */
const prepared = process.env.REDKIT_CONSUMER_DIR;

beforeAll(async () => {
  if (prepared) {
    scratch = prepared;
  } else {
    scratch = await mkdtemp(join(tmpdir(), 'redkit-consumer-'));
    await run(process.execPath, ['scripts/consumer-app.mjs', scratch], {
      cwd: root,
      timeout: INSTALL_TIMEOUT_MS,
    });
  }
  packed = JSON.parse(await readFile(join(scratch, 'packed.json'), 'utf8')) as PackedLib[];
}, INSTALL_TIMEOUT_MS + 60_000);

afterAll(async () => {
  if (scratch && !prepared) await rm(scratch, { recursive: true, force: true });
});

describe('the packed libs', () => {
  it('are one tarball per lib, each with dist/index.js, dist/index.d.ts, README and LICENSE and no sources or tests', () => {
    expect(packed.map((lib) => lib.name).sort()).toEqual(LIBS.map((lib) => `@redkit/${lib}`));
    for (const { files } of packed) {
      expect(files).toEqual(
        expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md', 'LICENSE', 'package.json']),
      );
      expect(
        files.filter((file) => !/^(dist\/|README\.md$|LICENSE$|CHANGELOG\.md$|package\.json$)/.test(file)),
      ).toEqual([]);
      expect(files.filter((file) => /(^|\/)src\/|\.spec\.|\.ts$(?<!\.d\.ts)/.test(file))).toEqual([]);
    }
  });

  it('have manifests a registry accepts: no private flag, no source condition, peer ranges the packed set satisfies', async () => {
    const versions = new Map(packed.map((lib) => [lib.name, lib.version]));
    for (const lib of packed) {
      const { stdout } = await run('tar', ['-xOzf', lib.tarball, 'package/package.json']);
      const manifest = JSON.parse(stdout) as Record<string, unknown> & {
        exports: Record<string, Record<string, string>>;
        peerDependencies: Record<string, string>;
      };
      expect(manifest.private).toBeUndefined();
      expect(manifest.license).toBe('MIT');
      expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
      for (const [name, range] of Object.entries(manifest.peerDependencies)) {
        const version = versions.get(name);
        if (version !== undefined)
          expect({ name, range, satisfied: semver.satisfies(version, range) }).toMatchObject({
            satisfied: true,
          });
      }
    }
  });

  it('pass publint (strict) with no message', async () => {
    for (const lib of packed) {
      const bytes = await readFile(lib.tarball);
      const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const { messages, pkg } = await publint({ pack: { tarball }, strict: true });
      expect({ lib: lib.name, messages: messages.map((message) => formatMessage(message, pkg)) }).toEqual({
        lib: lib.name,
        messages: [],
      });
    }
  });

  it('pass arethetypeswrong with its esm-only profile (.attw.json): ESM-only is deliberate, as in Nest 12', async () => {
    const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    const check = async (lib: PackedLib) => {
      // Exits 1 when a resolution the profile checks fails; its JSON lists every resolution's problems.
      const result = await run(process.execPath, [attw, lib.tarball, '--format', 'json'], { cwd: root }).then(
        ({ stdout }) => ({ stdout, code: 0 }),
        (error: { stdout: string; code: number }) => error,
      );
      const { problems } = (
        JSON.parse(result.stdout) as { analysis: { problems: { resolutionKind?: string }[] } }
      ).analysis;
      // The two the profile leaves out: node10 (no `exports` support) and require() from CommonJS, which
      // an ESM-only package answers with ESM (Node >= 20.19 and 22.12 load it through require(esm)).
      const checked = problems.filter(
        (problem) => !['node10', 'node16-cjs'].includes(problem.resolutionKind ?? ''),
      );
      expect({ lib: lib.name, exitCode: result.code, problems: checked }).toEqual({
        lib: lib.name,
        exitCode: 0,
        problems: [],
      });
    };
    await Promise.all(packed.map(check));
  }, 90_000);
});

describe('a Nest app outside the repository, installed from the tarballs', () => {
  let app: string;

  /** Runs the app's own tsc on one of its projects; resolves with its error output, '' when clean. */
  const tsc = (typescript: 'typescript' | 'typescript6', project: string, ...flags: string[]) =>
    run(process.execPath, [join(app, 'node_modules', typescript, 'bin/tsc'), '-p', project, ...flags], {
      cwd: app,
    }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );

  beforeAll(() => {
    // Packed, installed and compiled (ESM and CommonJS) by scripts/consumer-app.mjs.
    app = join(scratch, 'app');
  });

  // Once per `npm test` (see scripts/test-node-lines.mjs): tsc's verdict does not depend on the Node running it.
  if (process.env.REDKIT_CONSUMER_TYPECHECK !== '0') {
    it('type-checks with tsc --strict and nodenext resolution against the packed declarations, on TypeScript 7 and 6, as ESM and as CommonJS', async () => {
      const checks = ['tsconfig.json', 'cjs/tsconfig.json'].flatMap((project) =>
        (['typescript', 'typescript6'] as const).map(async (typescript) => ({
          project,
          typescript,
          errors: await tsc(typescript, project, '--noEmit'),
        })),
      );
      for (const check of await Promise.all(checks)) expect(check).toEqual({ ...check, errors: '' });
      // The @redkit/* it compiled against are the installed tarballs, not this repository's sources.
      const manifest = JSON.parse(
        await readFile(join(app, 'node_modules/@redkit/cache/package.json'), 'utf8'),
      );
      expect(manifest.exports['.']['redkit-source']).toBeUndefined();
    }, 120_000);
  }

  describe.each([
    ['ESM', 'express', 'dist'],
    ['ESM', 'fastify', 'dist'],
    ['CommonJS', 'express', 'cjs/dist'],
    ['CommonJS', 'fastify', 'cjs/dist'],
  ])('as %s, served by @nestjs/platform-%s', (format, adapter, dist) => {
    const redisUrl = sharedRedisUrl();
    const keyPrefix = uniquePrefix(`consumer${format}${adapter}`);
    let server: ChildProcess | undefined;
    let base: string;

    beforeAll(async () => {
      server = spawn(process.execPath, [`${dist}/main.js`], {
        cwd: app,
        env: { ...process.env, ADAPTER: adapter, REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const port = await new Promise<number>((resolve, reject) => {
        server?.once('exit', (code) =>
          reject(new Error(`the consumer app exited with ${code} before listening`)),
        );
        createInterface({ input: server!.stdout! }).on('line', (line) => {
          const { listening } = JSON.parse(line) as { listening?: number };
          if (listening) resolve(listening);
        });
      });
      base = `http://127.0.0.1:${port}`;
    }, 60_000);

    afterAll(async () => {
      if (server?.exitCode === null) {
        const exited = new Promise((resolve) => server?.once('exit', resolve));
        server.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
        clearTimeout(timer);
      }
      await killWorkersAndDeleteKeys(server ? [server] : [], { url: redisUrl }, keyPrefix);
    });

    const get = (path: string) => fetch(`${base}${path}`);
    const post = (path: string, body: unknown = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('runs a @Cacheable method once for concurrent and repeated reads', async () => {
      const reads = await Promise.all([get('/quotes/q1'), get('/quotes/q1'), get('/quotes/q1')]);
      const again = await get('/quotes/q1');
      const bodies = await Promise.all([...reads, again].map((response) => response.json()));
      expect(bodies).toEqual(Array(4).fill({ id: 'q1', price: '101.25', loads: 1 }));
    });

    it('answers a @RateLimit route with 429, RateLimit headers and Retry-After past its limit', async () => {
      const responses = [await get('/limited'), await get('/limited'), await get('/limited')];
      expect(responses.map((response) => response.status)).toEqual([200, 200, 429]);
      expect(responses[0]?.headers.get('ratelimit-policy')).toBe('"consumer-limited";q=2;w=60');
      expect(responses[1]?.headers.get('ratelimit')).toMatch(/^"consumer-limited";r=0;t=\d+$/);
      expect(Number(responses[2]?.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await responses[2]?.json()).toMatchObject({ statusCode: 429, limit: 'consumer-limited' });
    });

    it('serializes concurrent @WithLock calls, so a read-await-write loses no update', async () => {
      const values = await Promise.all(
        Array.from(
          { length: 8 },
          async () => ((await (await post('/counters/c1')).json()) as { value: number }).value,
        ),
      );
      expect(values.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(await (await get('/counters/c1')).json()).toEqual({ value: 8 });
    });

    it('saves an order book with OrderBookStore and reads it back with its checksum', async () => {
      const response = await post('/books/BTC-USD', {
        sequence: 7,
        bids: [{ price: '100.50', quantity: '2' }],
        asks: [{ price: '101', quantity: '1.5' }],
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        symbol: 'BTC-USD',
        sequence: 7,
        bids: [{ price: '100.5', quantity: '2' }],
        asks: [{ price: '101', quantity: '1.5' }],
        spread: '0.5',
        checksum: expect.any(Number),
      });
    });

    it('delivers a published event to @OnEvent and a stream entry to @StreamHandler', async () => {
      expect((await post('/events', { name: 'ann' })).status).toBe(202);
      expect((await post('/jobs', { name: 'bob' })).status).toBe(202);
      await eventually(async () =>
        expect(await (await get('/activity')).json()).toEqual({
          events: ['greeting.sent:ann'],
          jobs: ['greeting.queued:bob'],
        }),
      );
    });

    it('serves the console page, its scripts from the tarball and its JSON API, read-only', async () => {
      const page = await get('/console');
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy') ?? '';
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      const html = await page.text();
      expect(html).toContain(`nonce="${nonce}"`);
      const script = await get('/console/assets/ui/main.js');
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect((await get('/console/assets/console.css')).status).toBe(200);
      const session = (await (await get('/console/api/session')).json()) as { mode: string; views: string[] };
      expect(session.mode).toBe('read-only');
      expect(session.views).toEqual(expect.arrayContaining(['streams', 'locks', 'limits', 'cache', 'redis']));
      expect((await get('/console/api/streams')).status).toBe(200);
      const refused = await fetch(`${base}/console/api/cache/evict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'anything' }),
      });
      expect(refused.status).toBe(403);
    });

    it('serves the redkit metrics of every module at /metrics', async () => {
      const text = await (await get('/metrics')).text();
      for (const module of ['redis', 'cache', 'ratelimit', 'lock', 'orderbook', 'events', 'stream']) {
        expect(text).toContain(`redkit_${module}_`);
      }
    });
  });

  it('has the redkit bin of @redkit/redis, which prints the ACL user of the installed modules', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(app, 'node_modules/.bin/redkit'), 'acl', '--prefix', 'consumer', '--user', 'consumer-api'],
      { cwd: app },
    );
    expect(stdout).toContain('# redkit modules: cache, rate-limit, lock, orderbook, messaging');
    expect(stdout).toMatch(
      /^ACL SETUSER consumer-api on resetkeys ~consumer:\* resetchannels &consumer:\* -@all .*\+evalsha/m,
    );
  });
});
