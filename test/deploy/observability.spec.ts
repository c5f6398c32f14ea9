import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { CacheService } from '@redkit/cache';
import { EventBus, StreamConsumers, StreamProducer } from '@redkit/messaging';

import { createApp } from '../../apps/orderbook-api/src/app.factory.js';
import { killOnExit, releaseOnExit } from '../harness/exit-cleanup.js';
import { freePort } from '../harness/free-port.js';
import { sendRawCommand } from '../harness/raw-command.js';
import { runDirectory } from '../harness/run-directory.js';
import { RedisServer, eventually, requirePrometheus, requirePromtool } from '../harness/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const observability = join(root, 'deploy/observability');
const rulesFile = join(observability, 'alerts.rules.yml');
const rulesTestFile = join(observability, 'alerts.test.yml');
const dashboardFile = join(observability, 'grafana-dashboard.json');
const exampleConfigFile = join(observability, 'prometheus.yml');

/** The job name of the test's scrape config, which `$job` stands for in the dashboard's queries. */
const JOB = 'redkit-orderbook-api';
/** Four scrape intervals, what Grafana's `$__rate_interval` comes to for a 1 s scrape. */
const RATE_INTERVAL = '5s';
const showLogs = process.env.REDKIT_TEST_LOGS === '1';

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Target {
  expr: string;
  refId?: string;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  targets?: Array<Target & { datasource?: unknown }>;
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: unknown;
}

interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

/** Every panel, those inside collapsed rows included. */
function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every query the dashboard sends Prometheus, named for a failure message. */
function dashboardQueries(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  const queries: Array<{ where: string; expr: string }> = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      queries.push({ where: `panel "${panel.title}" ${target.refId ?? ''}`.trim(), expr: target.expr });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = variable.query as { query: string } | string;
    const text = typeof query === 'string' ? query : query.query;
    // label_values(selector, label) is Grafana's; the same series through PromQL.
    const labelValues = /^label_values\((.+),\s*(\w+)\)$/.exec(text);
    const expr = labelValues ? `count by (${labelValues[2]}) (${labelValues[1]})` : text;
    queries.push({ where: `variable $${variable.name}`, expr });
  }
  return queries;
}

/** Metric names in a PromQL expression: identifiers of the families the API exports. */
function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:redkit|nodejs|process)_[a-z0-9_]+\b/g) ?? [])];
}

/** Series names a /metrics text can hold: each family, plus its histogram or summary series. */
function exposedNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** Grafana's variables as the test's Prometheus knows them. */
function substituteVariables(expr: string, instance: string): string {
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$__interval', '1s')
    .replaceAll('$__range', '1m')
    .replace(/\$\{?job\}?/g, JOB)
    .replace(/\$\{?instance\}?/g, instance);
}

describe('Prometheus alert rules in deploy/observability', () => {
  it('promtool check rules accepts alerts.rules.yml without a warning', async () => {
    const result = await run(requirePromtool(), ['check', 'rules', rulesFile]);
    expect(result).toEqual({
      code: 0,
      stdout: expect.stringMatching(/SUCCESS: \d+ rules found/),
      stderr: '',
    });
    expect(result.stdout).not.toMatch(/warn/i);
  });

  it('promtool test rules passes: every alert fires on its firing case and stays quiet beside it', async () => {
    const result = await run(requirePromtool(), ['test', 'rules', rulesTestFile]);
    expect(result).toEqual({ code: 0, stdout: expect.stringContaining('SUCCESS'), stderr: '' });
    // Every alert of the rules file has a firing case in the tests.
    const rules = await readFile(rulesFile, 'utf8');
    const tests = await readFile(rulesTestFile, 'utf8');
    const alerts = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((match) => match[1] as string);
    const tested = new Set(
      [...tests.matchAll(/alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:/g)].map((match) => match[1]),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    expect(alerts.filter((alert) => !tested.has(alert))).toEqual([]);
  });

  it('promtool check config accepts the example prometheus.yml and finds its rule file', async () => {
    const result = await run(requirePromtool(), ['check', 'config', exampleConfigFile]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 1 rule files found');
    expect(result.stdout + result.stderr).not.toMatch(/warn|FAILED/i);
  });
});

describe('Grafana dashboard in deploy/observability, against the sample API and a real Prometheus', () => {
  let server: RedisServer;
  let app: INestApplication;
  let apiUrl: string;
  let instance: string;
  let prometheus: ChildProcess | undefined;
  let prometheusExited: Promise<void> = Promise.resolve();
  let prometheusUrl: string;
  let prometheusDirectory: string | undefined;
  let dashboard: Dashboard;
  let metricsText: string;

  async function prometheusApi<T>(path: string): Promise<T> {
    const response = await fetch(`${prometheusUrl}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.status} ${body.error ?? ''}`);
    return body.data;
  }

  async function startPrometheus(): Promise<void> {
    prometheusDirectory = await mkdtemp(join(runDirectory(), 'prometheus-'));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(rulesFile)}`,
      'scrape_configs:',
      `  - job_name: ${JOB}`,
      '    static_configs:',
      `      - targets: [${JSON.stringify(instance)}]`,
      '',
    ].join('\n');
    const configFile = join(prometheusDirectory, 'prometheus.yml');
    await writeFile(configFile, config);
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    const child = spawn(
      requirePrometheus(),
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(prometheusDirectory, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: showLogs ? 'inherit' : 'ignore' },
    );
    prometheus = child;
    killOnExit(child);
    prometheusExited = new Promise((resolve) => child.once('exit', () => resolve()));
    void prometheusExited.then(() => releaseOnExit(child));
    await eventually(async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `prometheus exited (${child.exitCode ?? child.signalCode}) at startup; rerun with REDKIT_TEST_LOGS=1 to see its log`,
        );
      }
      const response = await fetch(`${prometheusUrl}/-/ready`);
      if (!response.ok) throw new Error(`prometheus not ready: ${response.status}`);
    });
  }

  /** Traffic through every module the dashboard shows, so each of its series exists. */
  async function driveTraffic(): Promise<void> {
    const book = `${apiUrl}/markets/BTC-USD/book?depth=5`;
    expect((await fetch(book)).status).toBe(200); // cache miss, then stored
    expect((await fetch(book)).status).toBe(200); // cache hit
    const order = (side: string) =>
      fetch(`${apiUrl}/markets/BTC-USD/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ side, price: '1000.00', quantity: '0.01' }),
      });
    expect((await order('buy')).status).toBe(201); // lock, matching, order-book delta, events
    expect((await order('sell')).status).toBe(201); // crosses the buy: a trade
    // Past the write limit (10 a second per client): the guard refuses before validation.
    const burst = await Promise.all(
      Array.from({ length: 14 }, () =>
        fetch(`${apiUrl}/markets/BTC-USD/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }),
      ),
    );
    expect(burst.map((response) => response.status)).toContain(429);

    // The sample API neither fails a loader nor an event handler nor uses streams: the test does,
    // through the app's own modules, so their series exist in its registry.
    await expect(
      app
        .get(CacheService)
        .getOrSet('observability:failing-loader', () => Promise.reject(new Error('on purpose'))),
    ).rejects.toThrow();
    const bus = app.get(EventBus);
    await bus.subscribe('observability.failing', () => {
      throw new Error('on purpose');
    });
    await bus.publish('observability.failing', {});
    await app.get(StreamConsumers).start<{ fail: boolean }>({
      stream: 'observability',
      group: 'dashboard',
      handler: (message) => {
        if (message.data.fail) throw new Error('on purpose');
      },
      maxDeliveries: 1,
      blockMs: 100,
      claimIntervalMs: 100,
    });
    const producer = app.get(StreamProducer);
    await producer.publish('observability', 'observability.job', { fail: false });
    await producer.publish('observability', 'observability.job', { fail: true });
    await eventually(async () => {
      const text = await (await fetch(`${apiUrl}/metrics`)).text();
      expect(text).toContain(
        'redkit_stream_messages_total{stream="observability",outcome="dead_lettered"} 1',
      );
      expect(text).toMatch(/^redkit_stream_pending\{stream="observability",group="dashboard"\} 0$/m);
      expect(text).toMatch(/^redkit_events_handler_errors_total\{type="observability.failing"\} 1$/m);
    });
  }

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as Dashboard;
    // A maxmemory, so that the memory-used-over-maxmemory gauge has something to divide by.
    server = await RedisServer.start({ args: ['--maxmemory', '256mb'] });
    // One lookup before the app's first INFO sample, so that the keyspace hit ratio is defined.
    await sendRawCommand({ host: server.host, port: server.port, timeoutMs: 2_000 }, ['GET', 'nothing']);
    app = await createApp({ redisUrl: server.url, host: '127.0.0.1', port: 0 }, false);
    const port = await freePort();
    await app.listen(port, '127.0.0.1');
    instance = `127.0.0.1:${port}`;
    apiUrl = `http://${instance}`;
    await Promise.all([startPrometheus(), driveTraffic()]);
    metricsText = await (await fetch(`${apiUrl}/metrics`)).text();
  }, 30_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      prometheus.kill('SIGTERM');
      const killed = setTimeout(() => prometheus?.kill('SIGKILL'), 5_000);
      await prometheusExited;
      clearTimeout(killed);
    }
    if (prometheusDirectory) await rm(prometheusDirectory, { recursive: true, force: true });
    await app?.close();
    await server?.stop();
  });

  it('takes every data source from the ${datasource} variable and gives every panel a query', () => {
    const [datasource] = dashboard.templating.list;
    expect(datasource).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    // No data source uid or id is written down anywhere: each comes from the variable.
    const references: unknown[] = [];
    const visit = (value: unknown, key?: string): void => {
      if (key === 'datasource') references.push(value);
      if (Array.isArray(value)) value.forEach((item) => visit(item));
      else if (typeof value === 'object' && value !== null) {
        for (const [name, inner] of Object.entries(value)) visit(inner, name);
      }
    };
    visit(dashboard.panels);
    visit(dashboard.templating.list.slice(1));
    const hardCoded = references.filter(
      (reference) =>
        reference !== '${datasource}' &&
        !(
          typeof reference === 'object' &&
          reference !== null &&
          (reference as { uid?: unknown }).uid === '${datasource}' &&
          Object.keys(reference).every((name) => name === 'uid' || name === 'type')
        ),
    );
    expect(hardCoded).toEqual([]);
    expect(references.length).toBeGreaterThan(0);
    const panels = allPanels(dashboard).filter((panel) => panel.type !== 'row');
    const withoutQuery = panels.filter(
      (panel) => (panel.targets ?? []).length === 0 || panel.targets?.some((target) => !target.expr?.trim()),
    );
    expect(withoutQuery.map((panel) => panel.title)).toEqual([]);
    expect(panels.length).toBeGreaterThanOrEqual(30);
  });

  it("queries only metrics that the sample API's /metrics exports", () => {
    const exported = exposedNames(metricsText);
    const missing = dashboardQueries(dashboard).flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('gets data for every dashboard query from a real Prometheus scraping the sample API', async () => {
    await eventually(async () => {
      const { activeTargets } = await prometheusApi<{
        activeTargets: Array<{ health: string; lastError: string }>;
      }>('/api/v1/targets');
      expect(activeTargets.map(({ health, lastError }) => ({ health, lastError }))).toEqual([
        { health: 'up', lastError: '' },
      ]);
    });
    const queries = dashboardQueries(dashboard);
    // Rates need two scrapes of a series: retry the whole set until every query answers, then report
    // every query that still does not.
    await eventually(
      async () => {
        const failures: string[] = [];
        await Promise.all(
          queries.map(async ({ where, expr }) => {
            const query = substituteVariables(expr, instance);
            if (query.includes('$')) {
              failures.push(`${where}: unknown variable in ${query}`);
              return;
            }
            try {
              const data = await prometheusApi<{ result: unknown[] }>(
                `/api/v1/query?query=${encodeURIComponent(query)}`,
              );
              if (data.result.length === 0) failures.push(`${where}: no data for ${query}`);
            } catch (error) {
              failures.push(`${where}: ${(error as Error).message} for ${query}`);
            }
          }),
        );
        expect(failures.sort()).toEqual([]);
      },
      15_000,
      500,
    );
    expect(queries.length).toBeGreaterThanOrEqual(40);
  }, 30_000);

  it('loads every alert rule into Prometheus, evaluates it without error, on metrics the API exports', async () => {
    type Rule = { name: string; query: string; health: string; lastError?: string };
    const groups = await eventually(async () => {
      const { groups } = await prometheusApi<{ groups: Array<{ rules: Rule[] }> }>('/api/v1/rules');
      const rules = groups.flatMap((group) => group.rules);
      expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
      return groups;
    });
    const rules = groups.flatMap((group) => group.rules);
    const source = await readFile(rulesFile, 'utf8');
    expect(rules.map((rule) => rule.name).sort()).toEqual(
      [...source.matchAll(/^\s+- alert: (\w+)$/gm)].map((match) => match[1]).sort(),
    );
    const exported = exposedNames(metricsText);
    const missing = rules.flatMap((rule) =>
      metricNames(rule.query)
        .filter((name) => !exported.has(name))
        .map((name) => `${rule.name}: ${name}`),
    );
    expect(missing).toEqual([]);
  });
});
