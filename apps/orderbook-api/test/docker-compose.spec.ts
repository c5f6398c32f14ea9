import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: unknown;
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition?: string }>;
  environment?: Record<string, string>;
  ports?: string[];
  profiles?: string[];
}

/** `docker compose` when the plugin is installed; otherwise the file is checked by parsing it. */
function dockerComposeAvailable(): boolean {
  const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 10_000 });
  return probe.status === 0;
}

describe('docker-compose.yml', () => {
  it('starts Redis (healthchecked) and the API wired to it', () => {
    if (dockerComposeAvailable()) {
      const config = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(config.stderr).toBe('');
      expect(config.status).toBe(0);
    }
    // Without Docker's compose plugin (CI sandboxes), the same checks on the parsed file.
    const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };
    const compose = yaml.load(readFileSync(`${root}docker-compose.yml`, 'utf8')) as {
      services: Record<string, ComposeService>;
    };
    const { redis, api } = compose.services;
    expect(redis?.image).toMatch(/^redis:/);
    expect(JSON.stringify(redis?.healthcheck?.test)).toContain('ping');
    expect(redis?.profiles).toBeUndefined();
    expect(api?.build).toBe('.');
    expect(api?.profiles).toBeUndefined();
    expect(api?.depends_on?.redis?.condition).toBe('service_healthy');
    expect(api?.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(api?.ports).toContain('3000:3000');
    // Every service is either always on or in a named profile, and what it depends on exists.
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image ?? service.build).toBeDefined();
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(Object.keys(compose.services)).toContain(dependency);
      }
      if (name.startsWith('redis-node') || name === 'cluster-init')
        expect(service.profiles).toEqual(['cluster']);
    }
    // The image runs the API the build produces, listening beyond loopback.
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(dockerfile).toContain('CMD ["node", "apps/orderbook-api/dist/main.js"]');
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
  });
});
