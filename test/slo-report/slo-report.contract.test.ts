// slo-report through its bundle, as the runner runs it: the service figures from a real
// Prometheus scraping the lab app with known traffic; the delivery figures and the tracking
// issue from a fake GitHub API (contract test: it proves our requests and our reading of the
// answers it is given, not GitHub).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { startFakeGitHubHistory } from '../fakes/github-history.js'

const TOKEN = 'ghs_slo_report_token'
const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString()

async function hit(slot: AppSlot, count: number): Promise<void> {
  for (let i = 0; i < count; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, () =>
        fetch(slot.url).then((r) => r.arrayBuffer())
      )
    )
  }
}

interface Vector {
  result: { value?: [number, string]; values?: [number, string][] }[]
}

async function instantAt(url: string, promql: string, at: Date): Promise<Vector> {
  const q = new URLSearchParams({ query: promql, time: String(at.getTime() / 1000) })
  const body = (await (await fetch(`${url}/api/v1/query?${q}`)).json()) as { data: Vector }
  return body.data
}

/** The largest factor by which increase() can exceed the true rise of any of these series at
 * `at` over the last hour: (span + 2 × 1.1 × average interval) / span. */
async function extrapolationFactor(url: string, selector: string, at: Date): Promise<number> {
  const { result } = await instantAt(url, `${selector}[3600s]`, at)
  let worst = 1
  for (const s of result) {
    const t = (s.values ?? []).map(([ts]) => ts)
    if (t.length < 2) continue
    const span = t[t.length - 1] - t[0]
    const interval = span / (t.length - 1)
    worst = Math.max(worst, (span + 2 * 1.1 * interval) / span)
  }
  return worst
}

describe('slo-report on the lab Prometheus and a fake GitHub API', () => {
  const lab = Lab.create('ops-slo-report-')
  let app: Record<'blue' | 'green', AppSlot>
  let prometheus: PrometheusInstance
  let github: Awaited<ReturnType<typeof startFakeGitHubHistory>>

  beforeAll(async () => {
    app = await startApp(lab, { green: { errorRate: 0.05 } })
    prometheus = await startPrometheus(lab, {
      targets: [
        { address: `127.0.0.1:${app.blue.port}` },
        { address: `127.0.0.1:${app.green.port}` }
      ]
    })
    await prometheus.waitForTargets()
    await new Promise((r) => setTimeout(r, 2500))
    // Known traffic: 400 good requests on blue, 200 on green of which every 20th fails (10).
    await hit(app.blue, 400)
    await hit(app.green, 200)
    await new Promise((r) => setTimeout(r, 3500))
    github = await startFakeGitHubHistory(TOKEN, {
      deployments: [
        {
          id: 11,
          sha: 'a'.repeat(40),
          environment: 'production',
          created_at: minutesAgo(50),
          description: 'deploy via ops-actions deploy-bluegreen',
          statuses: [
            { state: 'in_progress', created_at: minutesAgo(50) },
            { state: 'success', created_at: minutesAgo(47) }
          ]
        },
        {
          id: 12,
          sha: 'b'.repeat(40),
          environment: 'production',
          created_at: minutesAgo(30),
          description: 'canary via ops-actions canary-promote',
          statuses: [
            { state: 'in_progress', created_at: minutesAgo(30) },
            { state: 'failure', created_at: minutesAgo(28) }
          ]
        },
        {
          id: 13,
          sha: 'a'.repeat(40),
          environment: 'production',
          created_at: minutesAgo(20),
          description: 'rollback via ops-actions deploy-bluegreen',
          statuses: [
            { state: 'in_progress', created_at: minutesAgo(20) },
            { state: 'success', created_at: minutesAgo(19) }
          ]
        },
        {
          id: 14,
          sha: 'c'.repeat(40),
          environment: 'staging',
          created_at: minutesAgo(10),
          statuses: [{ state: 'success', created_at: minutesAgo(9) }]
        }
      ],
      commits: { ['a'.repeat(40)]: minutesAgo(60), ['b'.repeat(40)]: minutesAgo(40) }
    })
  })
  afterAll(async () => {
    await github?.close()
    await lab.stop()
  })

  const base = (): Record<string, string> => ({
    'prometheus-url': prometheus.url,
    selector: 'job="app"',
    period: '1h',
    'throughput-goal': '1'
  })
  const env = (): Record<string, string> => ({
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'acme/shop'
  })

  it('counts the known traffic and misses the error-rate goal (10 of 600 failed)', async () => {
    // A fixed end: the figures must be exactly Prometheus's own increase() at that instant.
    const end = new Date(Math.floor(Date.now() / 1000) * 1000)
    const r = await runAction('slo-report', { ...base(), end: end.toISOString() })
    expect(r.exitCode).toBe(0)
    const at = async (promql: string): Promise<number> =>
      Math.round(Number((await instantAt(prometheus.url, promql, end)).result[0].value?.[1]))
    expect(Number(r.outputs.requests)).toBe(
      await at('sum(increase(http_requests_total{job="app"}[3600s]))')
    )
    expect(Number(r.outputs.errors)).toBe(
      await at('sum(increase(http_requests_total{job="app",status=~"5.."}[3600s]))')
    )
    // increase() extrapolates: each end of a series by at most 1.1 average scrape intervals
    // (Prometheus's extrapolatedRate). With all traffic in a few seconds that is a noticeable
    // share here (a week of data makes it negligible); the bound is computed from the samples.
    const factor = await extrapolationFactor(prometheus.url, 'http_requests_total{job="app"}', end)
    expect(Number(r.outputs.requests)).toBeGreaterThanOrEqual(600)
    expect(Number(r.outputs.requests)).toBeLessThanOrEqual(Math.ceil(600 * factor))
    expect(Number(r.outputs.errors)).toBeGreaterThanOrEqual(10)
    expect(Number(r.outputs.errors)).toBeLessThanOrEqual(Math.ceil(10 * factor))
    expect(r.outputs.verdict).toBe('missed')
    expect(Number(r.outputs['error-budget-left'])).toBeLessThan(0)
    expect(r.summary).toMatch(
      /^## SLO review .*: missed: Availability \(requests not 5xx\), Error rate/m
    )
    expect(r.summary).toContain('Prometheus increase() estimates, rounded')
  })

  it('a selector that matches nothing is inconclusive, never met, and fails with fail-on-miss', async () => {
    const r = await runAction('slo-report', {
      ...base(),
      selector: 'job="no-such-service"',
      'fail-on-miss': 'true'
    })
    expect(r.outputs.verdict).toBe('inconclusive')
    expect(r.exitCode).toBe(1)
  })

  it('a status label the series do not have stops the run (exit 3) instead of counting 0 errors', async () => {
    const r = await runAction('slo-report', { ...base(), 'status-label': 'code' })
    expect(r.exitCode).toBe(3)
    expect(r.stdout).toMatch(/has the label `code`: errors cannot be counted/)
  })

  it("reads the environment's deployments, and writes one tracking issue per period", async () => {
    const end = new Date(Date.now() - 1000).toISOString()
    const inputs = {
      ...base(),
      end,
      'github-token': TOKEN,
      environment: 'production',
      issue: 'true',
      service: 'shop'
    }
    const r = await runAction('slo-report', inputs, { env: env() })
    expect(r.exitCode).toBe(0)
    expect([r.outputs.deploys, r.outputs['deploy-success-rate']]).toEqual(['2', '50.0'])
    expect(r.summary).toMatch(
      /\| Deploy success rate \| 50\.0% \(1\/2\) \| >= 95\.0% \| ❌ missed \|/
    )
    expect(r.summary).toMatch(/\| Rollback time \| max 1m00s over 1 \|/)
    // failure at 28 min ago -> the rollback's success 19 min ago
    expect(r.summary).toMatch(/\| Time to restore \(MTTR\) \| mean 9m00s, worst 9m00s \|/)
    expect(github.issues).toHaveLength(1)
    expect(github.issues[0]).toMatchObject({ state: 'open', labels: ['slo-review'] })
    expect(github.issues[0].title).toMatch(/^SLO review shop \(production\), /)
    expect(r.masks).toContain(TOKEN)

    const again = await runAction('slo-report', inputs, { env: env() })
    expect(again.exitCode).toBe(0)
    expect(github.issues).toHaveLength(1)
    expect(again.outputs['issue-url']).toBe(r.outputs['issue-url'])
  })

  // Last: it adds traffic. Bursts a few seconds apart give the 1-minute period's 5 s chart steps
  // several points to draw.
  it('charts error rate and P95 per step, each with its bound', async () => {
    for (let burst = 0; burst < 4; burst++) {
      await hit(app.green, 40)
      await new Promise((r) => setTimeout(r, 2500))
    }
    const r = await runAction('slo-report', { ...base(), period: '1m' })
    const charts = r.summary.split('```mermaid').slice(1)
    expect(charts).toHaveLength(2)
    expect(charts[0]).toMatch(/title "Error rate \(%\) per step, with the bound"/)
    // the bound line: 0.1 % at every point
    expect(charts[0]).toMatch(/line \[0\.1(, 0\.1)+\]/)
    expect(charts[1]).toMatch(/line \[500(, 500)+\]/)
  })
})
