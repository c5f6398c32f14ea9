import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { productionFindings, resolveRedisOptions } from '@redkit/redis';
import { Redis } from 'ioredis';
import request from 'supertest';

import { RedisServer, eventually, type TlsFiles } from '../../../test/harness/index.js';
import { killOnExit, releaseOnExit } from '../../../test/harness/exit-cleanup.js';
import { freePort } from '../../../test/harness/free-port.js';
import { runDirectory } from '../../../test/harness/run-directory.js';
import { createApp } from '../src/app.factory.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const deployRedis = `${root}deploy/redis/`;
const templateFile = `${deployRedis}users.acl.template`;
const redkitBin = `${root}libs/redis/dist/cli/redkit.js`;

/** What apps/orderbook-api uses (app.module.ts): every module, the default key prefix. */
const API_PREFIX = 'redkit';
const API_MODULES = 'cache,rate-limit,lock,orderbook,messaging,console';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: unknown;
  entrypoint?: unknown;
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition?: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeText = readFileSync(`${root}docker-compose.yml`, 'utf8');
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };
const compose = yaml.load(composeText) as Compose;

/** `docker compose` when the plugin is installed; otherwise the file is checked by parsing it. */
function dockerComposeAvailable(): boolean {
  const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 10_000 });
  return probe.status === 0;
}

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** A `command:` or `entrypoint:` as compose runs it: a list stays a list, a string is one argument. */
function argv(value: unknown): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** The shell line of a `CMD-SHELL` healthcheck. */
function healthcheckShell(name: string): string {
  const test = argv(service(name).healthcheck?.test);
  expect(test[0]).toBe('CMD-SHELL');
  return test[1] ?? '';
}

/** Compose interpolation of `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$`. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (match, name, kind, rest) => {
    if (match === '$$') return '$';
    const value = env[name as string];
    if (value !== undefined && value !== '') return value;
    if (kind === '?') throw new Error(`${name} is required: ${rest}`);
    return kind === '-' ? (rest as string) : '';
  });
}

/** The value after `--option` in a command line. */
function optionValue(args: string[], option: string): string | undefined {
  const index = args.indexOf(option);
  return index < 0 ? undefined : args[index + 1];
}

/** Passwords that satisfy render-acl.sh: 24 characters of the base64url alphabet, new per run. */
function testPasswords(): Record<string, string> {
  const password = () => randomBytes(18).toString('base64url');
  return {
    REDIS_API_PASSWORD: password(),
    REDIS_METRICS_PASSWORD: password(),
    REDIS_ADMIN_PASSWORD: password(),
  };
}

/** Runs deploy/redis/render-acl.sh as the redis-acl service does, with only these variables set. */
function renderAcl(aclfile: string, passwords: Record<string, string>) {
  return spawnSync('sh', [`${deployRedis}render-acl.sh`, templateFile, aclfile], {
    env: { PATH: process.env.PATH ?? '', ...passwords },
    encoding: 'utf8',
  });
}

/** A client that fails at once rather than retrying, for permission probes. */
function probeClient(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    commandTimeout: 2_000,
  });
}

async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = probeClient(url);
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

/**
 * Runs a compose healthcheck's shell line against a local server: a `redis-cli` placed first on
 * PATH forwards to the real one, pointing the container's port (6379 or 6380) and CA path at ours.
 */
function runHealthcheck(
  shell: string,
  target: { port: number; caCert?: string; password: string },
  scratch: string,
): number | null {
  const realRedisCli = spawnSync('sh', ['-c', 'command -v redis-cli'], { encoding: 'utf8' }).stdout.trim();
  const shim = join(scratch, 'bin');
  mkdirSync(shim, { recursive: true });
  writeFileSync(
    join(shim, 'redis-cli'),
    [
      '#!/bin/sh',
      'for argument do',
      '  shift',
      '  case $argument in',
      '    6379 | 6380) argument=$SHIM_PORT ;;',
      '    /certs/ca.crt) argument=$SHIM_CA ;;',
      '  esac',
      '  set -- "$@" "$argument"',
      'done',
      `exec '${realRedisCli}' -p "$SHIM_PORT" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(join(shim, 'redis-cli'), 0o755);
  const result = spawnSync('sh', ['-c', shell], {
    env: {
      PATH: `${shim}:${process.env.PATH ?? ''}`,
      REDISCLI_AUTH: target.password,
      SHIM_PORT: String(target.port),
      SHIM_CA: target.caCert ?? '',
    },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return result.status;
}

describe('docker-compose.yml', () => {
  const passwords = testPasswords();

  it('starts Redis (healthchecked) and the API wired to it', () => {
    if (dockerComposeAvailable()) {
      const config = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, ...passwords },
      });
      expect(config.stderr).toBe('');
      expect(config.status).toBe(0);
    }
    // Without Docker's compose plugin (CI sandboxes), the same checks on the parsed file.
    const redis = service('redis');
    const api = service('api');
    expect(redis.image).toMatch(/^redis:/);
    expect(JSON.stringify(redis.healthcheck?.test)).toContain('ping');
    expect(redis.profiles).toBeUndefined();
    expect(api.build).toBe('.');
    expect(api.profiles).toBeUndefined();
    expect(api.depends_on?.redis?.condition).toBe('service_healthy');
    expect(api.environment?.REDIS_URL).toMatch(/^redis:\/\/[^@]+@redis:6379$/);
    expect(api.ports).toContain('3000:3000');
    // Every service is either always on or in a named profile, and what it depends on exists.
    for (const [name, each] of Object.entries(compose.services)) {
      expect(each.image ?? each.build).toBeDefined();
      for (const dependency of Object.keys(each.depends_on ?? {})) {
        expect(Object.keys(compose.services)).toContain(dependency);
      }
      for (const volume of each.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (!source.startsWith('.')) expect(Object.keys(compose.volumes ?? {})).toContain(source);
      }
      if (name.startsWith('redis-node') || name === 'cluster-init')
        expect(each.profiles).toEqual(['cluster']);
      if (['certs', 'redis-tls', 'api-tls'].includes(name)) expect(each.profiles).toEqual(['tls']);
    }
    // The image runs the API the build produces, listening beyond loopback.
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(dockerfile).toContain('CMD ["node", "apps/orderbook-api/dist/main.js"]');
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
  });

  it('runs Redis on the aclfile rendered by a one-shot service, with an authenticated healthcheck', () => {
    const renderer = service('redis-acl');
    expect(renderer.profiles).toBeUndefined();
    expect(renderer.volumes).toEqual(
      expect.arrayContaining(['./deploy/redis:/template:ro', 'redis-acl:/acl']),
    );
    const rendering = argv(renderer.command).join(' ');
    expect(rendering).toContain('render-acl.sh /template/users.acl.template /acl/users.acl');
    expect(Object.keys(renderer.environment ?? {}).sort()).toEqual(Object.keys(passwords).sort());

    const redis = service('redis');
    expect(redis.depends_on?.['redis-acl']?.condition).toBe('service_completed_successfully');
    const args = argv(redis.command);
    expect(args[0]).toBe('redis-server');
    expect(optionValue(args, '--aclfile')).toBe('/etc/redis/acl/users.acl');
    expect(redis.volumes).toContain('redis-acl:/etc/redis/acl:ro');
    // redis-cli takes the password from REDISCLI_AUTH, so it never shows in `ps` or `docker inspect` of the test.
    expect(healthcheckShell('redis')).toMatch(/redis-cli --user orderbook-metrics ping/);
    expect(redis.environment?.REDISCLI_AUTH).toMatch(/^\$\{REDIS_METRICS_PASSWORD:\?/);
  });

  it('gives the API the users of the ACL template, by name, with passwords from the environment', () => {
    const api = service('api');
    const env = Object.fromEntries(
      Object.entries(api.environment ?? {}).map(([name, value]) => [name, interpolate(value, passwords)]),
    );
    expect(env.REDIS_URL).toBe(`redis://orderbook-api:${passwords.REDIS_API_PASSWORD}@redis:6379`);
    expect(env.REDIS_METRICS_URL).toBe(
      `redis://orderbook-metrics:${passwords.REDIS_METRICS_PASSWORD}@redis:6379`,
    );
    const template = readFileSync(templateFile, 'utf8');
    expect(template).toMatch(/^user orderbook-api on .* #\{REDIS_API_PASSWORD\}$/m);
    expect(template).toMatch(/^user orderbook-metrics on .* #\{REDIS_METRICS_PASSWORD\}$/m);
    // The production guard finds only the plain text on the compose network: a user, a password.
    expect(productionFindings(resolveRedisOptions({ url: env.REDIS_URL }))).toEqual([
      expect.stringMatching(/^connects in plain text to redis:/),
    ]);
  });

  it('holds no password: only ${VARIABLE} references, each with a development value in .env.example', () => {
    const example = readFileSync(`${root}.env.example`, 'utf8');
    const exampleValues = Object.fromEntries(
      [...example.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((match) => [match[1], match[2]]),
    );
    for (const [name, each] of Object.entries(compose.services)) {
      for (const [variable, value] of Object.entries(each.environment ?? {})) {
        if (/PASSWORD|AUTH|SECRET|KEY/.test(variable))
          expect({ name, variable, value }).toEqual({
            name,
            variable,
            value: expect.stringMatching(/^\$\{/),
          });
        for (const match of value.matchAll(/rediss?:\/\/[^:@/]+:([^@]*)@/g))
          expect({ name, variable, password: match[1] }).toEqual({
            name,
            variable,
            password: expect.stringMatching(/^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$/),
          });
      }
    }
    // Every variable compose requires has a value to copy from .env.example, which compose accepts.
    const required = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((match) => match[1]));
    expect([...required].sort()).toEqual(Object.keys(passwords).sort());
    for (const variable of required) {
      expect(exampleValues[variable]).toBeDefined();
      expect(composeText).not.toContain(exampleValues[variable]);
    }
    const scratch = mkdtempSync(join(runDirectory(), 'env-example-'));
    try {
      expect(renderAcl(join(scratch, 'users.acl'), exampleValues).stderr).toBe('');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('has a tls profile: certificates from a one-shot service, Redis on TLS only, an API on rediss://', () => {
    const certs = service('certs');
    expect(argv(certs.command).join(' ')).toContain('sh /scripts/make-certs.sh /certs');
    expect(certs.volumes).toEqual(
      expect.arrayContaining(['./deploy/redis:/scripts:ro', 'redis-certs:/certs']),
    );

    const redisTls = service('redis-tls');
    expect(redisTls.depends_on).toEqual({
      certs: { condition: 'service_completed_successfully' },
      'redis-acl': { condition: 'service_completed_successfully' },
    });
    const args = argv(redisTls.command);
    expect(optionValue(args, '--port')).toBe('0');
    expect(optionValue(args, '--tls-port')).toBe('6380');
    expect(optionValue(args, '--tls-cert-file')).toBe('/certs/server.crt');
    expect(optionValue(args, '--tls-key-file')).toBe('/certs/server.key');
    expect(optionValue(args, '--tls-ca-cert-file')).toBe('/certs/ca.crt');
    expect(optionValue(args, '--tls-auth-clients')).toBe('no');
    expect(optionValue(args, '--aclfile')).toBe('/etc/redis/acl/users.acl');
    expect(redisTls.volumes).toEqual(
      expect.arrayContaining(['redis-certs:/certs:ro', 'redis-acl:/etc/redis/acl:ro']),
    );
    expect(healthcheckShell('redis-tls')).toMatch(
      /redis-cli --tls --cacert \/certs\/ca\.crt -p 6380 --user orderbook-metrics ping/,
    );

    const apiTls = service('api-tls');
    expect(apiTls.depends_on?.['redis-tls']?.condition).toBe('service_healthy');
    expect(apiTls.volumes).toContain('redis-certs:/certs:ro');
    const env = Object.fromEntries(
      Object.entries(apiTls.environment ?? {}).map(([name, value]) => [name, interpolate(value, passwords)]),
    );
    expect(env.REDIS_URL).toBe(`rediss://orderbook-api:${passwords.REDIS_API_PASSWORD}@redis-tls:6380`);
    expect(env.REDIS_METRICS_URL).toBe(
      `rediss://orderbook-metrics:${passwords.REDIS_METRICS_PASSWORD}@redis-tls:6380`,
    );
    // The API has no CA option of its own: Node adds this file to the CAs every TLS connection trusts.
    expect(env.NODE_EXTRA_CA_CERTS).toBe('/certs/ca.crt');
    for (const url of [env.REDIS_URL, env.REDIS_METRICS_URL])
      expect(productionFindings(resolveRedisOptions({ url }))).toEqual([]);
    expect(apiTls.ports).toEqual(['3001:3000']);
  });
});

describe('deploy/redis ACL users', () => {
  it('keeps the committed template equal to what the redkit acl bin prints for the sample API now', () => {
    const generated = spawnSync(process.execPath, [`${deployRedis}acl-template.mjs`, '--stdout'], {
      encoding: 'utf8',
    });
    expect(generated.stderr).toBe('');
    // When this fails: node deploy/redis/acl-template.mjs (after building libs/redis).
    expect(readFileSync(templateFile, 'utf8')).toBe(generated.stdout);

    const bin = spawnSync(
      process.execPath,
      [
        ...[redkitBin, 'acl', '--format', 'file', '--user', 'orderbook-api'],
        ...['--prefix', API_PREFIX, '--modules', API_MODULES],
        ...['--manifest', `${root}apps/orderbook-api/dist/app.acl.js`],
      ],
      { encoding: 'utf8' },
    );
    expect(bin.status).toBe(0);
    // In file format stdout is only the aclfile line (the note goes to stderr): loadable as it is.
    expect(bin.stdout.trim().split('\n')).toHaveLength(1);
    const binLine = bin.stdout.trim();
    expect(binLine).toMatch(/^user orderbook-api on .*\+lrange/);
    // The bin's user for the modules and the API's own manifest, then the password.
    const apiLine = readFileSync(templateFile, 'utf8')
      .split('\n')
      .find((line) => line.startsWith('user orderbook-api '));
    expect(apiLine).toBe(`${binLine} #{REDIS_API_PASSWORD}`);
  });

  it('renders no password in clear, and refuses a missing, short or URL-unsafe one naming the variable', () => {
    const scratch = mkdtempSync(join(runDirectory(), 'render-acl-'));
    const passwords = testPasswords();
    const aclfile = join(scratch, 'users.acl');
    expect(renderAcl(aclfile, passwords).status).toBe(0);
    const rendered = readFileSync(aclfile, 'utf8');
    for (const password of Object.values(passwords)) expect(rendered).not.toContain(password);
    expect(rendered).not.toContain('#{');
    const lines = rendered.trimEnd().split('\n');
    expect(lines.every((line) => line.startsWith('user '))).toBe(true);
    expect(lines.map((line) => line.split(' ')[1])).toEqual([
      'orderbook-api',
      'orderbook-metrics',
      'admin',
      'default',
    ]);

    const failures: Array<[Record<string, string>, RegExp]> = [
      [{ ...passwords, REDIS_METRICS_PASSWORD: '' }, /REDIS_METRICS_PASSWORD is not set/],
      [{ ...passwords, REDIS_ADMIN_PASSWORD: 'short' }, /REDIS_ADMIN_PASSWORD is shorter than 16/],
      [{ ...passwords, REDIS_API_PASSWORD: 'has@and/in-it-0123456789' }, /REDIS_API_PASSWORD may hold only/],
    ];
    for (const [env, message] of failures) {
      const failed = renderAcl(join(scratch, 'refused.acl'), env);
      expect(failed.status).toBe(1);
      expect(failed.stderr).toMatch(message);
    }
    rmSync(scratch, { recursive: true, force: true });
  });
});

describe('the compose Redis configuration on a real redis-server', () => {
  const passwords = testPasswords();
  let scratch: string;
  let server: RedisServer;
  const url = (user: string, password: string) => `redis://${user}:${password}@127.0.0.1:${server.port}`;
  const apiUrl = () => url('orderbook-api', passwords.REDIS_API_PASSWORD ?? '');
  const metricsUrl = () => url('orderbook-metrics', passwords.REDIS_METRICS_PASSWORD ?? '');
  const adminUrl = () => url('admin', passwords.REDIS_ADMIN_PASSWORD ?? '');

  beforeAll(async () => {
    scratch = mkdtempSync(join(runDirectory(), 'compose-acl-'));
    const aclfile = join(scratch, 'users.acl');
    const rendering = renderAcl(aclfile, passwords);
    expect(rendering.stderr).toBe('');
    // The redis service's own arguments, with the volume's path replaced by ours.
    const args = argv(service('redis').command)
      .slice(1)
      .map((arg) => (arg === '/etc/redis/acl/users.acl' ? aclfile : arg));
    server = await RedisServer.start({ args });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('lets the default user run nothing', async () => {
    await withClient(`redis://127.0.0.1:${server.port}`, async (anonymous) => {
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
      await expect(anonymous.call('AUTH', 'default', 'anything')).rejects.toThrow(/WRONGPASS/);
    });
  });

  it('lets orderbook-api write under redkit: and refuses it FLUSHALL, CONFIG GET, KEYS, INFO and other keys', async () => {
    await withClient(apiUrl(), async (api) => {
      expect(await api.ping()).toBe('PONG');
      expect(await api.set(`${API_PREFIX}:compose-test:key`, 'value', 'PX', 10_000)).toBe('OK');
      expect(await api.get(`${API_PREFIX}:compose-test:key`)).toBe('value');
      await expect(api.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
      await expect(api.call('CONFIG', 'GET', 'maxmemory')).rejects.toThrow(/NOPERM/);
      await expect(api.call('KEYS', `${API_PREFIX}:*`)).rejects.toThrow(/NOPERM/);
      await expect(api.call('INFO')).rejects.toThrow(/NOPERM/);
      await expect(api.set('elsewhere:key', 'value')).rejects.toThrow(/NOPERM/);
    });
  });

  it('lets orderbook-metrics run INFO and SLOWLOG LEN and read no key', async () => {
    await withClient(metricsUrl(), async (metrics) => {
      expect(await metrics.ping()).toBe('PONG');
      expect(await metrics.call('CLIENT', 'SETNAME', 'compose-test')).toBe('OK');
      expect(await metrics.call('INFO', 'memory')).toContain('used_memory:');
      expect(typeof (await metrics.call('SLOWLOG', 'LEN'))).toBe('number');
      await expect(metrics.get(`${API_PREFIX}:compose-test:key`)).rejects.toThrow(/NOPERM/);
      await expect(metrics.call('SLOWLOG', 'GET')).rejects.toThrow(/NOPERM/);
    });
  });

  it('has redkit acl --check, run as admin, find nothing missing for orderbook-api', () => {
    const check = spawnSync(
      process.execPath,
      [
        ...[redkitBin, 'acl', '--check', '--url', adminUrl()],
        ...['--user', 'orderbook-api', '--prefix', API_PREFIX, '--modules', API_MODULES],
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(check.stdout).toContain('has every command and channel the modules need');
    expect(check.status).toBe(0);
  });

  it('passes the compose healthcheck with the metrics password and fails it with another', () => {
    const shell = healthcheckShell('redis');
    const port = server.port;
    expect(runHealthcheck(shell, { port, password: passwords.REDIS_METRICS_PASSWORD ?? '' }, scratch)).toBe(
      0,
    );
    expect(runHealthcheck(shell, { port, password: 'not-the-password-at-all' }, scratch)).not.toBe(0);
  });

  it('runs the sample API as orderbook-api and orderbook-metrics: orders, books, /health up, server metrics', async () => {
    let app: INestApplication | undefined;
    const adminApiKey = 'compose-test-admin-key';
    try {
      app = await createApp(
        {
          redisUrl: apiUrl(),
          redisMetricsUrl: metricsUrl(),
          host: '127.0.0.1',
          port: 0,
          demo: true,
          adminApiKey,
        },
        false,
      );
      const http = request(app.getHttpServer());
      // Every route that reaches Redis, so a command the template lacks fails here (500), and
      // /health below would say which rule to grant.
      await http.get('/markets/BTC-USD/book?depth=5').expect(200);
      await http.get('/markets/BTC-USD/book?depth=5&fresh=true').expect(200);
      // A sell far below the demo bids trades (lock, matching script, cache eviction, events);
      // the buy far below the asks rests, to be read and cancelled.
      const sold = await http
        .post('/markets/BTC-USD/orders')
        .send({ side: 'sell', price: '1000.00', quantity: '0.01' })
        .expect(201);
      expect(sold.body.trades.length).toBeGreaterThan(0);
      const resting = await http
        .post('/markets/BTC-USD/orders')
        .send({ side: 'buy', price: '1000.00', quantity: '0.01', clientOrderId: 'compose-acl-1' })
        .expect(201);
      const orderId = String(resting.body.order.id);
      await http.get(`/markets/BTC-USD/orders/${orderId}`).expect(200);
      await http.delete(`/markets/BTC-USD/orders/${orderId}`).expect(200);
      await http.get('/markets/BTC-USD/trades?limit=5').expect(200);
      await http.get('/markets/BTC-USD/ticker').expect(200);
      await http
        .put('/markets/ETH-USD/book')
        .set('x-api-key', adminApiKey)
        .send({ bids: [{ price: '100.00', quantity: '1' }], asks: [{ price: '200.00', quantity: '1' }] })
        .expect(200);
      await http.get('/markets/ETH-USD/book?depth=5').expect(200);
      // /health is down when a module was refused a command in the last minute.
      const health = await http.get('/health').expect(200);
      expect(health.body.status).toBe('ok');
      await eventually(async () => {
        const { text } = await http.get('/metrics').expect(200);
        expect(text).toMatch(/redkit_redis_server_up\{connection="server-metrics",node="[^"]+"\} 1/);
      });
    } finally {
      await app?.close();
    }
  }, 60_000);
});

describe('the compose tls profile on a real redis-server', () => {
  const passwords = testPasswords();
  let scratch: string;
  let tls: TlsFiles;
  let server: RedisServer;

  beforeAll(async () => {
    scratch = mkdtempSync(join(runDirectory(), 'compose-tls-'));
    const certificates = join(scratch, 'certs');
    const made = spawnSync('sh', [`${deployRedis}make-certs.sh`, certificates], { encoding: 'utf8' });
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    // The harness starts Redis with the redis-tls service's flags (--port 0, --tls-port, cert, key,
    // CA, --tls-auth-clients no); the CA key is gone and there is no client certificate.
    tls = {
      dir: certificates,
      caCert: join(certificates, 'ca.crt'),
      caKey: '',
      serverCert: join(certificates, 'server.crt'),
      serverKey: join(certificates, 'server.key'),
      clientCert: '',
      clientKey: '',
    };
    const aclfile = join(scratch, 'users.acl');
    expect(renderAcl(aclfile, passwords).status).toBe(0);
    server = await RedisServer.start({ tls, args: ['--aclfile', aclfile] });
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('issues a server certificate for redis-tls from a CA whose key is gone', () => {
    const names = spawnSync('openssl', ['x509', '-in', tls.serverCert, '-noout', '-ext', 'subjectAltName'], {
      encoding: 'utf8',
    });
    expect(names.stdout).toContain('DNS:redis-tls');
    expect(spawnSync('openssl', ['verify', '-CAfile', tls.caCert, tls.serverCert]).status).toBe(0);
    expect(existsSync(join(tls.dir, 'ca.key'))).toBe(false);
    // Run again, it keeps what it made (a volume outlives the container).
    const again = spawnSync('sh', [`${deployRedis}make-certs.sh`, tls.dir], { encoding: 'utf8' });
    expect(again.stdout).toContain('already holds a valid certificate');
  });

  it('passes the redis-tls healthcheck over TLS', () => {
    const shell = healthcheckShell('redis-tls');
    const target = {
      port: server.port,
      caCert: tls.caCert,
      password: passwords.REDIS_METRICS_PASSWORD ?? '',
    };
    expect(runHealthcheck(shell, target, scratch)).toBe(0);
  });

  it('serves the built API (as api-tls runs it) over rediss:// with NODE_EXTRA_CA_CERTS and no guard warning', async () => {
    const port = await freePort();
    const redisUrl = (user: string, password: string) =>
      `rediss://${user}:${password}@localhost:${server.port}`;
    const child = spawn(process.execPath, [`${root}apps/orderbook-api/dist/main.js`], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DEMO: '1',
        REDIS_URL: redisUrl('orderbook-api', passwords.REDIS_API_PASSWORD ?? ''),
        REDIS_METRICS_URL: redisUrl('orderbook-metrics', passwords.REDIS_METRICS_PASSWORD ?? ''),
        NODE_EXTRA_CA_CERTS: tls.caCert,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const base = `http://127.0.0.1:${port}`;
      const health = await eventually(async () => {
        if (child.exitCode !== null) throw new Error(`the API exited:\n${output}`);
        const response = await fetch(`${base}/health`);
        expect(response.status).toBe(200);
        return (await response.json()) as { status: string };
      }, 20_000);
      expect(health.status).toBe('ok');
      await eventually(async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        expect(text).toMatch(/redkit_redis_server_up\{connection="server-metrics",node="[^"]+"\} 1/);
      });
      // The production guard's warning ends with this; over TLS, as named users, it has nothing to say.
      expect(output).not.toContain('NODE_ENV=production;');
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      releaseOnExit(child);
    }
  }, 60_000);
});
