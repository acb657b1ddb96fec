import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { repoRoot } from '../../lab/action-yml.js'
import { freePort } from '../../lab/ports.js'
import { startApp } from '../../lab/services/app.js'
import { haproxyCommand } from '../../lab/services/haproxy.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { renderUpstream } from '../../src/traffic/nginx.js'
import { outputsOf, runCli } from '../cli/helpers.js'
import { slotCounts, type Slots } from '../deploy-bluegreen/helpers.js'

const example = (...parts: string[]): string => join(repoRoot, 'examples', ...parts)
const read = (...parts: string[]): string => readFileSync(example(...parts), 'utf8')
const ruleFiles = [
  example('prometheus', 'slo-recording-rules.yml'),
  example('prometheus', 'slo-alert-rules.yml')
]

/** Runs a checker; returns its exit status and all it printed (for the failure message). */
function check(
  argv: string[],
  options: { cwd?: string } = {}
): { status: number | null; output: string } {
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    cwd: options.cwd,
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` }
  })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const KEYWORDS = [
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset'
]

/** Metric names in a PromQL expression: identifiers outside strings, label sets, ranges and
 * grouping clauses that are not function calls or keywords. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !KEYWORDS.includes(m[1]))
    .map((m) => m[1])
}

describe('examples/haproxy', () => {
  const lab = Lab.create('ops-examples-haproxy-')
  afterAll(() => lab.stop())

  it('passes haproxy -c as written', () => {
    const r = check(['haproxy', '-c', '-f', example('haproxy', 'haproxy.cfg')])
    expect(r).toMatchObject({ status: 0 })
  })

  it('runs as the router: switched by the CLI, and the live slot survives a reload (server-state-file)', async () => {
    const app: Slots = await startApp(lab)
    const dir = lab.mkdir('haproxy')
    const port = await freePort()
    const socket = join(dir, 'admin.sock')
    const stateFile = join(dir, 'server-state')
    // Same file, with this machine's paths, ports and addresses; no user switch or syslog here.
    const config = read('haproxy', 'haproxy.cfg')
      .replaceAll('/run/haproxy/admin.sock', socket)
      .replaceAll('/var/lib/haproxy/server-state', stateFile)
      .replace('bind :80', `bind 127.0.0.1:${port}`)
      .replaceAll('10.0.0.11:8080', `127.0.0.1:${app.blue.port}`)
      .replaceAll('10.0.0.12:8080', `127.0.0.1:${app.green.port}`)
      .replace(/^\s*(user|group) haproxy\n/gm, '')
      .replace(/^\s*log \/dev\/log local0\n/m, '')
    const file = join(dir, 'haproxy.cfg')
    writeFileSync(file, config)
    const proc = lab.spawn('haproxy-example', ['haproxy', '-W', '-db', '-f', file])
    await proc.waitReady(
      async () => (await haproxyCommand(socket, 'show info')).includes('Name:'),
      15_000
    )
    const url = `http://127.0.0.1:${port}`
    // Health checks must have seen both servers up before traffic is counted.
    await until('blue up', async () => ((await slotCounts(url, 5)).blue === 5 ? true : undefined))

    const deploy = await runCli([
      'deploy-bluegreen',
      '--router',
      'haproxy',
      '--haproxy-socket',
      socket,
      '--haproxy-state-file',
      stateFile,
      '--health-url-blue',
      `${app.blue.url}/healthz`,
      '--health-url-green',
      `${app.green.url}/healthz`,
      '--health-checks',
      '2',
      '--health-interval',
      '100ms',
      '--verify-url',
      url,
      '--verify-duration',
      '1s',
      // the example configuration is the subject; the interval rule needs thousands of requests
      '--error-judgement',
      'point'
    ])
    expect(deploy.stderr).toBe('')
    expect(deploy.code).toBe(0)
    expect(outputsOf(deploy.stdout, ['live-slot'])).toEqual({ 'live-slot': 'green' })
    expect(readFileSync(stateFile, 'utf8')).toMatch(/ app \d+ green /)

    const pidBefore = /Pid: (\d+)/.exec(await haproxyCommand(socket, 'show info'))?.[1]
    proc.signal('SIGUSR2')
    await until('new worker', async () => {
      const pid = /Pid: (\d+)/.exec(await haproxyCommand(socket, 'show info').catch(() => ''))?.[1]
      return pid && pid !== pidBefore ? pid : undefined
    })
    expect(await slotCounts(url)).toEqual({ green: 20 })
  })
})

describe('examples/nginx', () => {
  const lab = Lab.create('ops-examples-nginx-')
  afterAll(() => lab.stop())

  it('passes nginx -t with the upstream include file (in a temp prefix)', async () => {
    const prefix = lab.mkdir('nginx')
    lab.mkdir('nginx', 'logs')
    const upstream = join(prefix, 'app-upstream.conf')
    copyFileSync(example('nginx', 'app-upstream.conf'), upstream)
    const config = read('nginx', 'nginx.conf')
      .replace('include /etc/nginx/ops-actions/app-upstream.conf;', `include ${upstream};`)
      .replace('/run/nginx.pid', join(prefix, 'nginx.pid'))
      .replace(/\/var\/log\/nginx\//g, `${prefix}/logs/`)
      .replace('listen 80;', `listen 127.0.0.1:${await freePort()};`)
    expect(config).toContain(`include ${upstream};`)
    writeFileSync(join(prefix, 'nginx.conf'), config)
    const r = check(['nginx', '-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')])
    expect(r.output).toMatch(/test is successful/)
    expect(r.status).toBe(0)
  })

  it('ships the upstream file exactly as the router writes it (blue live, keepalive 32)', () => {
    const text = read('nginx', 'app-upstream.conf')
    const changed = /changed=(\S+)/.exec(text)![1]
    const rendered = renderUpstream(
      {
        upstreamName: 'app',
        servers: { blue: ['10.0.0.11:8080'], green: ['10.0.0.12:8080'] },
        upstreamOptions: ['keepalive 32;']
      },
      { blue: 100, green: 0 },
      'green',
      changed
    )
    expect(text).toBe(rendered)
  })
})

describe('examples/prometheus and examples/grafana', () => {
  const lab = Lab.create('ops-examples-prometheus-')
  let app: Slots
  let prometheus: PrometheusInstance
  const recorded = [
    ...read('prometheus', 'slo-recording-rules.yml').matchAll(/record: (\S+)/g)
  ].map((m) => m[1])
  const alerts = [...read('prometheus', 'slo-alert-rules.yml').matchAll(/alert: (\S+)/g)].map(
    (m) => m[1]
  )

  const vector = async (
    promql: string
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const body = (await prometheus.query(promql)) as {
      status: string
      error?: string
      data: { result: { metric: Record<string, string>; value: [number, string] }[] }
    }
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`)
    return body.data.result
  }

  beforeAll(async () => {
    app = await startApp(lab)
    prometheus = await startPrometheus(lab, {
      targets: [
        { address: `127.0.0.1:${app.blue.port}` },
        { address: `127.0.0.1:${app.green.port}` }
      ],
      ruleFiles
    })
    await prometheus.waitForTargets()
  })
  afterAll(() => lab.stop())

  it('passes promtool check rules', () => {
    const r = check(['promtool', 'check', 'rules', ...ruleFiles])
    expect(r.output).toMatch(/SUCCESS: 23 rules found[\s\S]*SUCCESS: 10 rules found/)
    expect(r.status).toBe(0)
  })

  it('passes promtool test rules: each alert fires on its traffic, and on no data', () => {
    const r = check(['promtool', 'test', 'rules', 'slo-alert-rules.test.yml'], {
      cwd: dirname(ruleFiles[0])
    })
    expect(r.output).toContain('SUCCESS')
    expect(r.status).toBe(0)
  })

  it('loads every rule into Prometheus, healthy', async () => {
    const res = await fetch(`${prometheus.url}/api/v1/rules`)
    const body = (await res.json()) as {
      data: {
        groups: { rules: { name: string; type: string; health: string; lastError?: string }[] }[]
      }
    }
    const rules = body.data.groups.flatMap((g) => g.rules)
    expect(
      rules
        .filter((r) => r.type === 'recording')
        .map((r) => r.name)
        .sort()
    ).toEqual([...recorded].sort())
    expect(
      rules
        .filter((r) => r.type === 'alerting')
        .map((r) => r.name)
        .sort()
    ).toEqual([...alerts].sort())
    await until('rules evaluated', async () => {
      const again = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as typeof body
      const all = again.data.groups.flatMap((g) => g.rules)
      return all.every((r) => r.health === 'ok') ? true : undefined
    })
  })

  it('records every series for both slots from the app traffic', async () => {
    await app.green.control({ errorRate: 0.5 })
    for (let i = 0; i < 3; i++) {
      for (const slot of [app.blue, app.green]) {
        await Promise.all(
          Array.from({ length: 20 }, () => fetch(slot.url).then((r) => r.arrayBuffer()))
        )
      }
      await new Promise((r) => setTimeout(r, 1200))
    }
    for (const series of recorded) {
      const slots = await until(`${series} for blue and green`, async () => {
        const result = await vector(series)
        const found = result.map((s) => s.metric.slot).sort()
        return found.includes('blue') && found.includes('green') ? found : undefined
      })
      expect(slots).toEqual(['blue', 'green'])
    }
    const ratio = Object.fromEntries(
      (await vector('slot:http_requests_error_ratio:rate5m')).map((s) => [
        s.metric.slot,
        Number(s.value[1])
      ])
    )
    expect(ratio.blue).toBe(0)
    expect(ratio.green).toBeCloseTo(0.5, 1)
  })

  it('puts SloErrorBudgetBurnFast in pending for the slot that fails, not for the other', async () => {
    const pending = await until('SloErrorBudgetBurnFast pending', async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
        data: { alerts: { labels: Record<string, string>; state: string }[] }
      }
      const found = body.data.alerts.filter((a) => a.labels.alertname === 'SloErrorBudgetBurnFast')
      return found.length ? found : undefined
    })
    expect(pending.map((a) => [a.labels.slot, a.labels.level, a.state])).toEqual([
      ['green', '1', 'pending']
    ])
  })

  it('grafana: every panel query uses only recorded series or base metrics, and runs on Prometheus', async () => {
    const dashboard = JSON.parse(read('grafana', 'release-slo-dashboard.json')) as {
      panels: { title: string; targets?: { expr: string }[] }[]
    }
    const base = ['http_requests_total', 'http_request_duration_seconds_bucket', 'ALERTS']
    const exprs = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr }))
    )
    expect(exprs.length).toBe(dashboard.panels.length)
    for (const { panel, expr } of exprs) {
      const metrics = metricNames(expr)
      expect({
        panel,
        unknown: metrics.filter((m) => !recorded.includes(m) && !base.includes(m))
      }).toEqual({ panel, unknown: [] })
      expect({ panel, uses: metrics.length > 0 }).toEqual({ panel, uses: true })
      // One service at a time: two services scraped by one Prometheus are never merged.
      expect({ panel, scoped: expr.includes('job="$job"') }).toEqual({ panel, scoped: true })
      const forLabApp = expr.replaceAll('$job', 'app')
      expect({ panel, series: (await vector(forLabApp)).length > 0 }).toEqual({
        panel,
        series: true
      })
    }
  })
})
