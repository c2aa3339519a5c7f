/**
 * The ops files (README "Operating it"): docker/prometheus (scrape config, alert rules and their
 * promtool unit tests), docker/grafana (provisioning and the TCC dashboard) and the compose files
 * that run them. Every metric an alert or a panel names must be one the apps really expose: the
 * built coordinator and both example services run here as processes on their embedded SQLite
 * files, place a real order, and their /metrics text is the reference.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import { request } from 'undici';
import { TEST_API_KEY } from '../support/api-keys';
import { trackChild } from '../support/children';
import { CoordinatorProcess } from '../support/coordinator.process';
import { ServiceProcess } from '../support/service.process';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { freePort } from '../replicas/support/ports';
import { exposedMetricNames, labelValuesIn, metricNamesIn } from './support/prometheus-names';

const ROOT = resolve(__dirname, '../..');
const PROMETHEUS_DIR = join(ROOT, 'docker/prometheus');
const DASHBOARD = join(ROOT, 'docker/grafana/dashboards/tcc.json');
const COMPOSE_FILES = ['docker/compose.yaml', 'docker/compose.postgres.yaml'];

/**
 * The completion callback, retry budget and reconciliation metrics: the rules and the dashboard
 * must watch each, and (like every name they use) each must be in a real /metrics text.
 */
const MUST_WATCH = [
  'tcc_callbacks_total',
  'tcc_callbacks_pending',
  'tcc_retry_budget_spent_total',
  'tcc_reconciliation_mismatches_total',
  'tcc_reconciliation_checked_total',
  'tcc_reconciliation_runs_total',
];

/** Series Prometheus makes itself for every target, not read from /metrics. */
const MADE_BY_PROMETHEUS = ['up'];

const run = promisify(execFile);

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const PROMTOOL = onPath('promtool');
const PROMETHEUS = onPath('prometheus');
const DOCKER_COMPOSE = onPath('docker-compose');
const itWithPromtool = PROMTOOL ? it : it.skip;
const itWithPrometheus = PROMETHEUS ? it : it.skip;
const itWithCompose = DOCKER_COMPOSE ? it : it.skip;
const NO_PROMTOOL = ' (SKIPPED: promtool is not installed; .ci/run installs Debian\'s "prometheus" package, which has it)';
const NO_PROMETHEUS = ' (SKIPPED: the prometheus server is not installed; .ci/run installs Debian\'s "prometheus" package)';
const NO_COMPOSE = ' (SKIPPED: docker-compose is not installed; .ci/run installs it)';

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: AlertRule[] }>;
}
interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { uid: string };
  targets?: Array<{ expr?: string; refId: string }>;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string }> };
}
interface ComposeFile {
  services: Record<string, { image?: string; volumes?: string[]; environment?: Record<string, string>; ports?: string[] }>;
}

const readYaml = <T>(path: string): T => loadYaml(readFileSync(path, 'utf8')) as T;
const rules = (): AlertRule[] => readYaml<RuleFile>(join(PROMETHEUS_DIR, 'alerts.yml')).groups.flatMap((group) => group.rules);
const dashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = (): Panel[] => dashboard().panels.filter((panel) => panel.type !== 'row');
const scrapeConfig = (): PrometheusConfig => readYaml<PrometheusConfig>(join(PROMETHEUS_DIR, 'prometheus.yml'));

/** Every PromQL expression of the ops files, named by where it is. */
function allExpressions(): Array<{ where: string; expr: string }> {
  const out = rules().map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr }));
  for (const panel of queryPanels()) {
    for (const target of panel.targets ?? []) out.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr ?? '' });
  }
  return out;
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, text: await res.body.text() };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), headersTimeout: 30_000, bodyTimeout: 30_000 });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

describe('PromQL metric names (the check below can fail)', () => {
  it('finds the metrics of an expression and leaves out functions, labels, ranges, offsets and numbers', () => {
    expect(
      metricNamesIn('sum by (le, phase) (rate(a_bucket{job=~"x|y"}[5m] offset 1h)) / on (phase) b_total > 0.5 and (c or vector(0)) * 1e3'),
    ).toEqual(['a_bucket', 'b_total', 'c']);
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(d_bucket[$__rate_interval])))')).toEqual(['d_bucket']);
  });

  it('reads every series name of a /metrics text, those of metrics with no sample yet included', () => {
    const names = exposedMetricNames(
      ['# HELP h latency', '# TYPE h histogram', '# TYPE c_total counter', 'c_total{a="1"} 2', '# TYPE g gauge', 'g 0'].join('\n'),
    );
    expect([...names].sort()).toEqual(['c_total', 'g', 'h_bucket', 'h_count', 'h_sum']);
  });

  it('reads the job values an expression matches', () => {
    expect(labelValuesIn('up{job=~"a|b"} + x{job="c"}', 'job')).toEqual(['a', 'b', 'c']);
  });
});

describe('the ops files name only what the apps expose', () => {
  let dir: string;
  let coordinator: CoordinatorProcess | undefined;
  let account: ServiceProcess | undefined;
  let order: ServiceProcess | undefined;
  const exposedBy: Record<string, Set<string>> = {};
  let orderMetrics = '';
  let accountMetrics = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-ops-files-'));
    coordinator = new CoordinatorProcess({ TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite'), TCC_LOG_LEVEL: 'error', TCC_HOST: '127.0.0.1' });
    account = new ServiceProcess('account-service', {
      ACCOUNT_HOST: '127.0.0.1',
      ACCOUNT_HTTP_PORT: '0',
      ACCOUNT_GRPC_PORT: '0',
      ACCOUNT_LOG_LEVEL: 'error',
      ACCOUNT_SQLITE_PATH: join(dir, 'account.sqlite'),
    });
    await Promise.all([coordinator.start(), account.start()]);
    order = new ServiceProcess('order-service', {
      ORDER_HOST: '127.0.0.1',
      ORDER_HTTP_PORT: '0',
      ORDER_LOG_LEVEL: 'error',
      ORDER_SQLITE_PATH: join(dir, 'order.sqlite'),
      TCC_COORDINATOR_URL: coordinator.url,
      TCC_API_KEY: TEST_API_KEY,
      ACCOUNT_SERVICE_URL: account.url,
    });
    await order.start();

    // One paid order, one refused for funds, one unknown path: samples in every family that counts them.
    const accountId = `ops-${randomSuffix()}`;
    expect((await post(`${account.url}/accounts`, { id: accountId, balance: 10_000 })).status).toBe(201);
    const paid = await post(`${order.url}/orders`, { accountId, amount: 2_500 });
    expect(paid).toMatchObject({ status: 201, json: { status: 'PAID' } });
    expect((await post(`${order.url}/orders`, { accountId, amount: 99_999 })).status).toBe(409);
    expect((await get(`${order.url}/no-such-route/${randomSuffix()}`)).status).toBe(404);

    // The coordinator counts the decision once phase two has finished: wait for it, not a time.
    const coordinatorText = await eventually(
      async () => {
        const { text } = await get(`${coordinator!.url}/metrics`);
        return /^tcc_transactions_total\{[^}]*outcome="committed"[^}]*\} [1-9]/m.test(text) ? text : undefined;
      },
      { timeoutMs: 30_000, what: 'the coordinator to count a committed transaction' },
    );
    orderMetrics = (await get(`${order.url}/metrics`)).text;
    accountMetrics = (await get(`${account.url}/metrics`)).text;
    exposedBy.coordinator = exposedMetricNames(coordinatorText);
    exposedBy['order-service'] = exposedMetricNames(orderMetrics);
    exposedBy['account-service'] = exposedMetricNames(accountMetrics);
  });

  afterAll(async () => {
    await closeAll(
      () => order?.stop(),
      () => account?.stop(),
      () => coordinator?.stop(),
      () => rmSync(dir, { recursive: true, force: true }),
    );
  });

  it('the example services serve GET /metrics: default process metrics and request durations by route template, method and status', async () => {
    for (const [name, text] of [
      ['order-service', orderMetrics],
      ['account-service', accountMetrics],
    ]) {
      expect({ name, has: exposedBy[name].has('process_cpu_seconds_total') && exposedBy[name].has('nodejs_heap_size_used_bytes') }).toEqual({ name, has: true });
      expect(text).toContain('# TYPE http_server_request_duration_seconds histogram');
    }
    const count = (text: string, labels: string): number => {
      const match = new RegExp(`^http_server_request_duration_seconds_count\\{${labels}\\} (\\d+)`, 'm').exec(text);
      return match ? Number(match[1]) : 0;
    };
    expect(count(orderMetrics, 'route="/orders",method="POST",status="201"')).toBe(1);
    expect(count(orderMetrics, 'route="/orders",method="POST",status="409"')).toBe(1);
    // A path no route matched is one label value, not the path asked for.
    expect(count(orderMetrics, 'route="unmatched",method="GET",status="404"')).toBe(1);
    expect(orderMetrics).not.toContain('no-such-route');
    expect(count(accountMetrics, 'route="/accounts",method="POST",status="201"')).toBe(1);
    const { status, text } = await get(`${order!.url}/metrics`);
    expect(status).toBe(200);
    expect(text).toMatch(/^http_server_request_duration_seconds_count\{route="\/metrics",method="GET",status="200"\} [1-9]/m);
  });

  it('every metric an alert rule or a dashboard panel names is exposed by an app (or made by Prometheus)', () => {
    const exposed = new Set([...Object.values(exposedBy).flatMap((names) => [...names]), ...MADE_BY_PROMETHEUS]);
    const unknown: string[] = [];
    const named = new Set<string>();
    for (const { where, expr } of allExpressions()) {
      const names = metricNamesIn(expr);
      expect({ where, names: names.length > 0 }).toEqual({ where, names: true });
      for (const name of names) {
        named.add(name);
        if (!exposed.has(name)) unknown.push(`${where}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
    // The check covers the metrics that matter: a sample of what the files must watch.
    for (const name of ['tcc_transactions_total', 'tcc_phase_two_call_duration_seconds_bucket', 'tcc_open_transactions', 'tcc_attention_transactions', 'http_server_request_duration_seconds_count', 'up']) {
      expect(named).toContain(name);
    }
    // The callback, budget and reconciliation metrics are watched, and exposed.
    for (const name of MUST_WATCH) {
      expect(named).toContain(name);
      expect(exposed).toContain(name);
    }
  });

  itWithPrometheus(`a real Prometheus scrapes the three apps (all up), evaluates every rule of alerts.yml without error and runs every panel's query${PROMETHEUS ? '' : NO_PROMETHEUS}`, async () => {
    // The jobs of docker/prometheus/prometheus.yml, at this test's addresses, with alerts.yml loaded.
    const port = await freePort();
    const target = (url: string): string => new URL(url).host;
    const jobs: Array<[string, string]> = [
      ['coordinator', target(coordinator!.url)],
      ['account-service', target(account!.url)],
      ['order-service', target(order!.url)],
    ];
    const config = [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(join(PROMETHEUS_DIR, 'alerts.yml'))}]`,
      'scrape_configs:',
      ...jobs.map(([job, host]) => `  - { job_name: ${job}, static_configs: [{ targets: [${JSON.stringify(host)}] }] }`),
    ].join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const server = spawn(
      PROMETHEUS!,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prometheus-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    trackChild(server);
    let log = '';
    server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const api = async <T>(path: string): Promise<T> => {
      const { status, text } = await get(`http://127.0.0.1:${port}${path}`);
      if (status !== 200) throw new Error(`${path}: ${status} ${text}`);
      return (JSON.parse(text) as { data: T }).data;
    };
    try {
      const targets = await eventually(
        async () => {
          const { activeTargets } = await api<{ activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> }>('/api/v1/targets');
          return activeTargets.length === 3 && activeTargets.every((t) => t.health === 'up') ? activeTargets : undefined;
        },
        { timeoutMs: 60_000, what: `Prometheus to scrape the three apps up (log: ${log})` },
      );
      expect(targets.map((t) => t.labels.job).sort()).toEqual(['account-service', 'coordinator', 'order-service']);

      // Every rule evaluated at least once, after the scrapes, with health "ok" (an error says why).
      type Rule = { name: string; health: string; lastError?: string; lastEvaluation: string };
      const evaluated = await eventually(
        async () => {
          const { groups } = await api<{ groups: Array<{ rules: Rule[] }> }>('/api/v1/rules');
          const all = groups.flatMap((group) => group.rules);
          return all.length === rules().length && all.every((rule) => rule.health !== 'unknown') ? all : undefined;
        },
        { timeoutMs: 60_000, what: 'Prometheus to evaluate every rule' },
      );
      expect(evaluated.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.lastError}`)).toEqual([]);

      // The dashboard's queries, as Grafana would send them ($__rate_interval: a few scrape intervals).
      for (const panel of queryPanels()) {
        for (const { expr, refId } of panel.targets ?? []) {
          const query = (expr ?? '').replace(/\$__rate_interval/g, '1m');
          const { status, text } = await get(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`);
          expect({ panel: panel.title, refId, status, error: status === 200 ? '' : text }).toEqual({ panel: panel.title, refId, status: 200, error: '' });
        }
      }
      // And one answers what the apps did: the committed order is in the decisions panel's query.
      const decisions = await api<{ result: Array<{ metric: Record<string, string> }> }>(
        `/api/v1/query?query=${encodeURIComponent('sum by (mode, outcome) (tcc_transactions_total)')}`,
      );
      expect(decisions.result.map((r) => r.metric)).toEqual(expect.arrayContaining([{ mode: 'tcc', outcome: 'committed' }]));
    } finally {
      if (server.pid !== undefined && server.exitCode === null) process.kill(server.pid, 'SIGTERM');
      await new Promise<void>((resolvePromise) => (server.exitCode !== null ? resolvePromise() : server.once('exit', () => resolvePromise())));
    }
  });

  it('the alerts and the panels select only job names that prometheus.yml scrapes', () => {
    const jobs = scrapeConfig().scrape_configs.map((job) => job.job_name);
    expect(jobs.sort()).toEqual(['account-service', 'coordinator', 'order-service']);
    for (const { where, expr } of allExpressions()) {
      for (const job of labelValuesIn(expr, 'job')) expect({ where, job, scraped: jobs.includes(job) }).toEqual({ where, job, scraped: true });
    }
  });
});

describe('alert rules', () => {
  it('every rule is an alert with a `for`, a severity and a summary and description', () => {
    const all = rules();
    expect(all.length).toBeGreaterThanOrEqual(10);
    const names = all.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of all) {
      expect({
        alert: rule.alert,
        for: /^\d+[smh]$/.test(rule.for ?? ''),
        severity: ['critical', 'warning'].includes(rule.labels?.severity ?? ''),
        summary: (rule.annotations?.summary ?? '').length > 0,
        description: (rule.annotations?.description ?? '').length > 0,
      }).toEqual({ alert: rule.alert, for: true, severity: true, summary: true, description: true });
    }
  });

  it('the rules watch what the brief of issue 21 asks for', () => {
    const watched = (metric: string): string[] => rules().filter((rule) => metricNamesIn(rule.expr).includes(metric)).map((rule) => rule.alert ?? '');
    for (const metric of [
      'tcc_transactions_total',
      'tcc_phase_two_calls_total',
      'tcc_phase_two_call_duration_seconds_bucket',
      'tcc_recovery_claims_total',
      'tcc_attention_transactions',
      'tcc_retry_budget_spent_total',
      'tcc_reconciliation_mismatches_total',
      'tcc_callbacks_total',
      'tcc_callbacks_pending',
      'tcc_open_transactions',
      'tcc_oldest_open_transaction_age_seconds',
      'tcc_redis_up',
      'tcc_scan_leader',
      'up',
    ]) {
      expect({ metric, alerts: watched(metric).length > 0 }).toEqual({ metric, alerts: true });
    }
  });

  itWithPromtool(`promtool check rules accepts alerts.yml${PROMTOOL ? '' : NO_PROMTOOL}`, async () => {
    const { stdout } = await run(PROMTOOL!, ['check', 'rules', join(PROMETHEUS_DIR, 'alerts.yml')]);
    expect(stdout).toMatch(new RegExp(`SUCCESS: ${rules().length} rules found`));
  });

  itWithPromtool(`promtool check config accepts prometheus.yml and finds its rule file${PROMTOOL ? '' : NO_PROMTOOL}`, async () => {
    const { stdout } = await run(PROMTOOL!, ['check', 'config', join(PROMETHEUS_DIR, 'prometheus.yml')]);
    expect(stdout).toMatch(/SUCCESS: 1 rule files found/);
    expect(stdout).toMatch(/is valid prometheus config file syntax/);
  });

  itWithPromtool(`promtool test rules passes alerts.test.yml (target down, attention, no scan leader, rollback spike)${PROMTOOL ? '' : NO_PROMTOOL}`, async () => {
    const { stdout } = await run(PROMTOOL!, ['test', 'rules', join(PROMETHEUS_DIR, 'alerts.test.yml')]);
    expect(stdout).toMatch(/SUCCESS/);
  });
});

describe('Grafana', () => {
  it('the dashboard is a Grafana dashboard JSON with query panels, each on the datasource variable, placed on the grid, ids unique', () => {
    const board = dashboard();
    expect(board.uid).toBe('tcc-overview');
    expect(board.templating.list).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' })]));
    const panels = queryPanels();
    expect(panels.length).toBeGreaterThanOrEqual(15);
    const ids = board.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect({
        title: panel.title,
        type: ['timeseries', 'stat'].includes(panel.type),
        datasource: panel.datasource?.uid,
        targets: (panel.targets ?? []).length > 0 && (panel.targets ?? []).every((target) => (target.expr ?? '').trim().length > 0),
        grid: !!panel.gridPos && panel.gridPos.x + panel.gridPos.w <= 24,
      }).toEqual({ title: panel.title, type: true, datasource: '${datasource}', targets: true, grid: true });
    }
  });

  it("provisioning: the datasource is the compose network's Prometheus with the uid the dashboard defaults to, the provider reads the mounted dashboards", () => {
    const datasources = readYaml<{ datasources: Array<{ uid: string; type: string; url: string }> }>(join(ROOT, 'docker/grafana/provisioning/datasources/prometheus.yml'));
    expect(datasources.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
    const providers = readYaml<{ providers: Array<{ options: { path: string } }> }>(join(ROOT, 'docker/grafana/provisioning/dashboards/tcc.yml'));
    const path = providers.providers[0].options.path;
    for (const file of COMPOSE_FILES) {
      const grafana = readYaml<ComposeFile>(join(ROOT, file)).services.grafana;
      expect(grafana.volumes).toEqual(expect.arrayContaining(['./grafana/provisioning:/etc/grafana/provisioning:ro', `./grafana/dashboards:${path}:ro`]));
    }
  });
});

describe('compose files', () => {
  it('run Prometheus on the rules beside its config, scrape targets that are services of the file, Jaeger on OTLP/HTTP 4318 and the apps exporting to it', () => {
    const targets = scrapeConfig().scrape_configs.flatMap((job) => job.static_configs.flatMap((config) => config.targets));
    for (const file of COMPOSE_FILES) {
      const { services } = readYaml<ComposeFile>(join(ROOT, file));
      expect(services.prometheus.volumes).toContain('./prometheus:/etc/prometheus:ro');
      for (const target of targets) {
        const [host, port] = target.split(':');
        expect({ file, target, service: host in services, published: (services[host]?.ports ?? []).some((p) => p.endsWith(`:${port}`)) }).toEqual({
          file,
          target,
          service: true,
          published: true,
        });
      }
      expect(services.jaeger.ports).toContain('4318:4318');
      for (const app of ['coordinator', 'account-service', 'order-service']) {
        expect({ file, app, endpoint: services[app].environment?.OTEL_EXPORTER_OTLP_ENDPOINT }).toEqual({ file, app, endpoint: 'http://jaeger:4318' });
      }
    }
  });

  itWithCompose(`docker-compose config accepts both compose files${DOCKER_COMPOSE ? '' : NO_COMPOSE}`, async () => {
    for (const file of COMPOSE_FILES) {
      const { stdout } = await run(DOCKER_COMPOSE!, ['-f', join(ROOT, file), 'config', '--services'], { cwd: ROOT });
      expect(stdout.split('\n')).toEqual(expect.arrayContaining(['prometheus', 'grafana', 'jaeger', 'coordinator', 'account-service', 'order-service']));
    }
  });
});
