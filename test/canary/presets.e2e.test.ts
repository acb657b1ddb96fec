/**
 * Every metrics preset on a real Prometheus, scraping tiny loopback exporters that serve series
 * named and labelled exactly like that exporter's (prometheus-fastapi-instrumentator, Python
 * prometheus_client / Node prom-client, express-prom-bundle, HAProxy's built-in exporter,
 * ingress-nginx). Blue serves only successes, green 10 % errors and slower answers: each preset's
 * own queries and selectors must find green's requests and errors, blue's zero errors, and a
 * latency in the bucket the observations are in.
 */
import { afterAll, beforeAll, describe, expect, it, test } from '@jest/globals'
import { runContextFromEnv } from '../../src/core/run-context.js'
import { createServer, type Server } from 'node:http'
import { Lab } from '../../lab/lab.js'
import { freePort } from '../../lab/ports.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { readCanaryInputs } from '../../src/actions/canary-promote/inputs.js'
import { Inputs } from '../../src/core/inputs.js'
import { PrometheusClient } from '../../src/slo/prometheus.js'
import { METRICS_PRESETS, metricsPreset } from '../../src/slo/presets.js'
import { DEFAULT_QUERIES, renderQuery } from '../../src/slo/queries.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
type Slot = 'blue' | 'green'
/** Requests so far per slot: ok and failed; green's answers take ~0.2 s, blue's ~0.05 s. */
interface Counts {
  ok: number
  failed: number
}

/** Histogram lines: every observation of the slot in one bucket. */
function histogram(name: string, labels: string, total: number, slow: boolean): string[] {
  const sep = labels ? `${labels},` : ''
  const buckets = ['0.05', '0.1', '0.25', '0.5', '+Inf']
  const inside = slow ? '0.25' : '0.05'
  return [
    `# TYPE ${name} histogram`,
    ...buckets.map(
      (le) =>
        `${name}_bucket{${sep}le="${le}"} ${Number(le) >= Number(inside) || le === '+Inf' ? total : 0}`
    ),
    `${name}_count{${labels}} ${total}`,
    `${name}_sum{${labels}} ${total * (slow ? 0.2 : 0.04)}`
  ]
}

/** What each exporter serves for one slot (app exporters: one target per slot). */
const EXPOSITION: Record<string, (slot: Slot, c: Counts) => string[]> = {
  'fastapi-instrumentator': (slot, c) => [
    '# TYPE http_requests_total counter',
    `http_requests_total{handler="/items",method="GET",status="2xx"} ${c.ok}`,
    ...(c.failed
      ? [`http_requests_total{handler="/items",method="GET",status="5xx"} ${c.failed}`]
      : []),
    ...histogram('http_request_duration_highr_seconds', '', c.ok + c.failed, slot === 'green'),
    ...histogram(
      'http_request_duration_seconds',
      'handler="/items",method="GET"',
      c.ok + c.failed,
      slot === 'green'
    )
  ],
  'prometheus-client': (slot, c) => [
    '# TYPE http_requests_total counter',
    `http_requests_total{method="get",code="200"} ${c.ok}`,
    ...(c.failed ? [`http_requests_total{method="get",code="500"} ${c.failed}`] : []),
    ...histogram('http_request_duration_seconds', 'method="get"', c.ok + c.failed, slot === 'green')
  ],
  'express-prom-bundle': (slot, c) => {
    const ok = histogram(
      'http_request_duration_seconds',
      'method="GET",path="/items",status_code="200"',
      c.ok,
      slot === 'green'
    )
    const bad = c.failed
      ? histogram(
          'http_request_duration_seconds',
          'method="GET",path="/items",status_code="500"',
          c.failed,
          slot === 'green'
        ).slice(1)
      : []
    return [...ok, ...bad]
  },
  // One HAProxy serves both slots: the series of both servers in one exposition.
  haproxy: () => [],
  'ingress-nginx': () => []
}

function haproxyExposition(counts: Record<Slot, Counts>): string[] {
  const lines = ['# TYPE haproxy_server_http_responses_total counter']
  for (const slot of ['blue', 'green'] as const) {
    for (const code of ['1xx', '2xx', '3xx', '4xx', '5xx', 'other']) {
      const v = code === '2xx' ? counts[slot].ok : code === '5xx' ? counts[slot].failed : 0
      lines.push(
        `haproxy_server_http_responses_total{proxy="app",server="${slot}",code="${code}"} ${v}`
      )
    }
  }
  lines.push('# TYPE haproxy_server_response_time_average_seconds gauge')
  lines.push('haproxy_server_response_time_average_seconds{proxy="app",server="blue"} 0.040')
  lines.push('haproxy_server_response_time_average_seconds{proxy="app",server="green"} 0.200')
  return lines
}

function ingressExposition(counts: Record<Slot, Counts>): string[] {
  const lines = ['# TYPE nginx_ingress_controller_requests counter']
  const base = (slot: Slot) =>
    `canary="",controller_class="k8s.io/ingress-nginx",controller_namespace="ingress-nginx",controller_pod="ingress-nginx-controller-7d9f",host="shop.example.com",ingress="shop",method="GET",namespace="production",path="/",service="shop-${slot}"`
  for (const slot of ['blue', 'green'] as const) {
    lines.push(`nginx_ingress_controller_requests{${base(slot)},status="200"} ${counts[slot].ok}`)
    if (counts[slot].failed)
      lines.push(
        `nginx_ingress_controller_requests{${base(slot)},status="503"} ${counts[slot].failed}`
      )
  }
  for (const slot of ['blue', 'green'] as const)
    lines.push(
      ...histogram(
        'nginx_ingress_controller_request_duration_seconds',
        base(slot),
        counts[slot].ok + counts[slot].failed,
        slot === 'green'
      ).slice(slot === 'blue' ? 0 : 1)
    )
  return lines
}

async function serve(body: () => string[]): Promise<{ port: number; server: Server }> {
  const port = await freePort()
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
    res.end(`${body().join('\n')}\n`)
  })
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return { port, server }
}

describe('metrics presets on real Prometheus, against series shaped like each exporter', () => {
  const lab = Lab.create()
  let prometheus: PrometheusInstance
  let client: PrometheusClient
  const servers: Server[] = []
  const counts: Record<Slot, Counts> = {
    blue: { ok: 100, failed: 0 },
    green: { ok: 100, failed: 0 }
  }

  beforeAll(async () => {
    const targets: { address: string; labels?: Record<string, string> }[] = []
    for (const preset of ['fastapi-instrumentator', 'prometheus-client', 'express-prom-bundle']) {
      for (const slot of ['blue', 'green'] as const) {
        const s = await serve(() => EXPOSITION[preset](slot, counts[slot]))
        servers.push(s.server)
        // the scrape config labels each slot's targets (the default selector slot="{{canary}}")
        targets.push({ address: `127.0.0.1:${s.port}`, labels: { slot, exporter: preset } })
      }
    }
    for (const [preset, body] of [
      ['haproxy', () => haproxyExposition(counts)],
      ['ingress-nginx', () => ingressExposition(counts)]
    ] as const) {
      const s = await serve(body)
      servers.push(s.server)
      targets.push({ address: `127.0.0.1:${s.port}`, labels: { exporter: preset } })
    }
    prometheus = await startPrometheus(lab, { targets })
    client = new PrometheusClient({ url: prometheus.url, timeoutMs: 5000 })
    await prometheus.waitForTargets()
    await sleep(3000)
    // traffic: 200 more requests per slot, green with 20 errors
    counts.blue = { ok: 300, failed: 0 }
    counts.green = { ok: 280, failed: 20 }
    await sleep(4000)
  }, 60_000)
  afterAll(async () => {
    for (const s of servers) s.close()
    await lab.stop()
  })

  const selectorFor = (name: string, slot: Slot): string => {
    const preset = METRICS_PRESETS[name]
    const own = preset.selector
      ? preset.selector.canary.replace('{{canary}}', slot)
      : `slot="${slot}"`
    // several app exporters share this Prometheus; a real one has only the service's
    return `${own}, exporter="${name}"`
  }
  const value = async (name: string, which: 'requests' | 'errors' | 'p95', slot: Slot) => {
    const query = renderQuery(which, METRICS_PRESETS[name].queries[which], {
      selector: selectorFor(name, slot),
      interval: '30s'
    })
    const r = (await client.query(query)) as { kind: string; value?: number }
    expect(r.kind).toBe('value')
    return r.value as number
  }

  it.each(Object.keys(METRICS_PRESETS))(
    '%s: requests, errors and latency of each slot',
    async (name) => {
      // increase() extrapolates from the samples to the window: near what happened (scrape timing), never wildly off
      const greenRequests = await value(name, 'requests', 'green')
      expect(greenRequests).toBeGreaterThanOrEqual(180)
      expect(greenRequests).toBeLessThan(400)
      const greenErrors = await value(name, 'errors', 'green')
      expect(greenErrors).toBeGreaterThanOrEqual(18)
      expect(greenErrors).toBeLessThan(60)
      expect(await value(name, 'errors', 'blue')).toBe(0)
      const p95 = await value(name, 'p95', 'green')
      if (name === 'haproxy')
        expect(p95).toBeCloseTo(0.2, 5) // its average: no histogram
      else {
        expect(p95).toBeGreaterThan(0.1)
        expect(p95).toBeLessThanOrEqual(0.25)
      }
      expect(await value(name, 'p95', 'blue')).toBeLessThanOrEqual(0.05)
    }
  )

  it.each(['express-prom-bundle', 'haproxy', 'ingress-nginx'])(
    '%s: without the preset, the default queries find no data there (never "0 errors")',
    async (name) => {
      const r = (await client.query(
        renderQuery('errors', DEFAULT_QUERIES.errors, {
          selector: selectorFor(name, 'green'),
          interval: '30s'
        })
      )) as { kind: string }
      expect(r.kind).toBe('empty')
    }
  )
})

describe('metricsPreset (input)', () => {
  test.each([
    ['', undefined],
    [' haproxy ', 'haproxy'],
    ['ingress-nginx', 'ingress-nginx']
  ])('%j', (raw, name) => {
    expect(metricsPreset(raw)).toBe(name ? METRICS_PRESETS[name] : undefined)
  })
  it('names the accepted presets', () => {
    expect(() => metricsPreset('fastapi')).toThrow(
      /input `metrics-preset` = `fastapi`: expected one of `fastapi-instrumentator`, `prometheus-client`, `express-prom-bundle`, `haproxy`, `ingress-nginx`/
    )
  })
})

describe('canary-promote input `metrics-preset`', () => {
  const read = (values: Record<string, string>) =>
    readCanaryInputs(
      new Inputs(
        (n) =>
          ({
            router: 'haproxy',
            'haproxy-socket': '/run/haproxy/admin.sock',
            'prometheus-url': 'http://127.0.0.1:9090',
            ...values
          })[n] ?? ''
      ),
      runContextFromEnv({})
    ).canary
  it('sets the queries and selectors; a query or selector input still wins', () => {
    expect(read({ 'metrics-preset': 'haproxy' })).toMatchObject({
      queries: METRICS_PRESETS.haproxy.queries,
      canarySelector: 'server="{{canary}}"',
      stableSelector: 'server="{{stable}}"'
    })
    const mixed = read({
      'metrics-preset': 'haproxy',
      'latency-query': 'max(x{ {{selector}} })',
      'canary-selector': 'server="web-{{canary}}"'
    })
    expect(mixed.queries.p95).toBe('max(x{ {{selector}} })')
    expect(mixed.queries.errors).toBe(METRICS_PRESETS.haproxy.queries.errors)
    expect(mixed.canarySelector).toBe('server="web-{{canary}}"')
    // an app exporter keeps the slot label of the scrape config
    expect(
      read({ 'metrics-preset': 'prometheus-client', 'slot-label': 'color' }).canarySelector
    ).toBe('color="{{canary}}"')
  })
})
