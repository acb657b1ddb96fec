import { afterAll, beforeAll, describe, expect, it, test } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import { Lab } from '../../lab/lab.js'
import { freePort } from '../../lab/ports.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { longestScrapeInterval, PrometheusClient } from '../../src/slo/prometheus.js'
import { analysisWindow, DEFAULT_QUERIES, renderQuery } from '../../src/slo/queries.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** An exporter whose metric lines the test sets (what other client libraries expose). */
async function exporter(): Promise<{ port: number; lines: string[]; server: Server }> {
  const port = await freePort()
  const state = { port, lines: [] as string[], server: undefined as unknown as Server }
  state.server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
    res.end(['# TYPE http_requests_total counter', ...state.lines, ''].join('\n'))
  })
  await new Promise<void>((r) => state.server.listen(port, '127.0.0.1', r))
  return state
}

describe('default PromQL on real Prometheus: missing errors are never zero errors', () => {
  const lab = Lab.create()
  let prometheus: PrometheusInstance
  let exp: Awaited<ReturnType<typeof exporter>>
  let client: PrometheusClient
  const errors = (slot: string): Promise<unknown> =>
    client.query(
      renderQuery('error-rate-query', DEFAULT_QUERIES.errors, {
        selector: `slot="${slot}"`,
        interval: '20s'
      })
    )

  beforeAll(async () => {
    exp = await exporter()
    prometheus = await startPrometheus(lab, { targets: [{ address: `127.0.0.1:${exp.port}` }] })
    client = new PrometheusClient({ url: prometheus.url, timeoutMs: 5000 })
  })
  afterAll(async () => {
    exp.server.close()
    await lab.stop()
  })

  it('counts 5xx in a `code` label, including a 5xx series born inside the window; no label is no data', async () => {
    exp.lines = [
      'http_requests_total{slot="green",code="200"} 100',
      'http_requests_total{slot="blue"} 100'
    ]
    await prometheus.waitForTargets()
    await sleep(3000)
    expect(await errors('green')).toEqual({ kind: 'value', value: 0 })
    // A label the query does not know: no data, not "0 errors".
    expect(await errors('blue')).toEqual({ kind: 'empty' })
    exp.lines = [
      'http_requests_total{slot="green",code="200"} 150',
      'http_requests_total{slot="green",code="500"} 50',
      'http_requests_total{slot="blue"} 150'
    ]
    await sleep(3000)
    const v = (await errors('green')) as { kind: string; value: number }
    expect(v.kind).toBe('value')
    expect(v.value).toBeGreaterThanOrEqual(50)
  }, 60_000)

  it('reads the scrape interval from Prometheus itself', async () => {
    expect(await client.scrapeIntervalMs()).toBe(1000)
  })
})

describe('analysis window vs scrape interval (pure)', () => {
  test.each([
    [30_000, 60_000, 120_000, true],
    [30_000, 15_000, 30_000, false],
    [30_000, undefined, 30_000, false],
    [5_000, 1_000, 5_000, false]
  ])('interval %d ms, scrape %s ms -> window %d ms', (interval, scrape, window, widened) => {
    const w = analysisWindow(interval, scrape)
    expect(w.windowMs).toBe(window)
    expect(w.note !== undefined).toBe(widened)
  })

  test.each([
    ['global:\n  scrape_interval: 15s\n', 15_000],
    [
      'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_interval: 1m\n',
      60_000
    ],
    ['scrape_configs:\n  - job_name: a\n', 60_000],
    ['not: [yaml', undefined]
  ])('longestScrapeInterval(%j) = %s', (yaml, ms) => {
    expect(longestScrapeInterval(yaml)).toBe(ms)
  })
})
