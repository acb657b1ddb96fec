// Contract test: runBlueGreen on the in-memory router with real-traffic verification, against one
// loopback server that is both the app (the probe) and a stand-in Prometheus (a real one cannot
// be made to answer with `warnings`, the partial result Thanos gives).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runBlueGreen, type BlueGreenOptions } from '../../src/release/bluegreen.js'
import { DEFAULT_QUERIES } from '../../src/slo/queries.js'
import { MemoryRouter } from './memory-router.js'

let server: Server
let base: string
let probeStatus = 200
/** What the stand-in Prometheus answers per query kind. */
let prom: { requests: string; errors: string; p95: string; warnings?: string[] }
let queries: string[] = []
/** Requests the probe sent to the app (`/`), for a Prometheus whose counters hold only them. */
let probeHits = 0

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    if (!url.pathname.startsWith('/api/v1/')) {
      if (url.pathname === '/') probeHits++
      // the health gate's /healthz stays healthy; the probe's / answers probeStatus
      res.writeHead(url.pathname === '/healthz' ? 200 : probeStatus, {
        'content-type': 'text/plain'
      })
      res.end('app\n')
      return
    }
    const answer = (data: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: 'success', data, warnings: prom.warnings }))
    }
    if (url.pathname === '/api/v1/status/config') {
      answer({ yaml: 'global:\n  scrape_interval: 10ms\n' })
      return
    }
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      const query = new URLSearchParams(body).get('query') ?? url.searchParams.get('query') ?? ''
      queries.push(query)
      const value = query.startsWith('histogram_quantile')
        ? prom.p95
        : query.startsWith('sum(')
          ? prom.requests.replace('probe', String(probeHits))
          : prom.errors
      answer({ resultType: 'vector', result: [{ metric: {}, value: [1, value] }] })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
beforeEach(() => {
  probeStatus = 200
  prom = { requests: '5000', errors: '0', p95: '0.05' }
  queries = []
  probeHits = 0
})

const options = (extra: Partial<BlueGreenOptions> = {}): BlueGreenOptions => ({
  mode: 'deploy',
  autoRollback: true,
  owner: 'test',
  lockTimeoutMs: 1000,
  healthUrls: { blue: `${base}/healthz`, green: `${base}/healthz` },
  health: { consecutive: 1, intervalMs: 10, timeoutMs: 1000 },
  verify: {
    url: `${base}/`,
    durationMs: 200,
    maxDurationMs: 400,
    ratePerSecond: 50,
    maxErrorRatePercent: 5,
    maxP95Ms: 500,
    timeoutMs: 1000,
    // the probe's bound is not what these flows are about: 10 clean answers pass at 5 %
    judgement: 'point',
    traffic: {
      prometheus: { url: base, timeoutMs: 1000 },
      queries: DEFAULT_QUERIES,
      selector: 'slot="{{slot}}"',
      minRequests: 50
    }
  },
  ...extra
})

describe('runBlueGreen with real-traffic verification', () => {
  it('clean probe and clean traffic: switched, verified on both', async () => {
    const router = new MemoryRouter({ blue: 100, green: 0 })
    const r = await runBlueGreen(router, options())
    expect(r.error).toBeUndefined()
    expect(r.outcome).toBe('switched')
    expect(r.verdict).toBe('pass')
    expect(r.traffic?.verdict).toBe('pass')
    // the users' requests: the probe's own are taken off the count
    expect(r.traffic?.requests).toBe(5000 - r.verify!.total)
    expect(queries.some((q) => q.includes('slot="green"'))).toBe(true)
    expect(router.weights).toEqual({ blue: 0, green: 100 })
  })

  it('clean probe, 10 % errors in real traffic: rolled back, and the router read back', async () => {
    prom.errors = '500'
    const router = new MemoryRouter({ blue: 100, green: 0 })
    const r = await runBlueGreen(router, options())
    expect(r.verification?.verdict).toBe('pass')
    expect(r.traffic?.verdict).toBe('fail')
    expect(r.verdict).toBe('fail')
    expect(r.outcome).toBe('rolled-back')
    expect(r.error?.message).toMatch(
      /verification failed after the switch to green: real traffic from Prometheus: error rate 10\.\d+% \(500\/\d+\)/
    )
    expect(r.trafficAfterFailure).toBe('rolled back to blue 100% / green 0%')
    expect(router.weights).toEqual({ blue: 100, green: 0 })
  })

  it('Prometheus answering with warnings (a partial result) is no data: inconclusive, rolled back', async () => {
    prom.warnings = ['store gateway unavailable']
    const router = new MemoryRouter({ blue: 100, green: 0 })
    const r = await runBlueGreen(router, options())
    expect(r.traffic?.verdict).toBe('inconclusive')
    expect(r.verdict).toBe('inconclusive')
    expect(r.outcome).toBe('rolled-back')
    expect(r.error?.message).toMatch(
      /verification inconclusive \(not verified\) .*warnings \(a partial result\): store gateway unavailable/
    )
  })

  it('a failing probe is rolled back at once: real traffic is not read', async () => {
    probeStatus = 503
    const router = new MemoryRouter({ blue: 100, green: 0 })
    const r = await runBlueGreen(router, options())
    expect(r.verification?.verdict).toBe('fail')
    expect(r.traffic).toBeUndefined()
    expect(queries).toEqual([])
    expect(r.outcome).toBe('rolled-back')
  })

  it('mode rollback: bad real traffic is reported, never reversed', async () => {
    prom.errors = '500'
    const router = new MemoryRouter({ blue: 0, green: 100 }, 'blue')
    const r = await runBlueGreen(router, options({ mode: 'rollback' }))
    expect(r.traffic?.verdict).toBe('fail')
    expect(r.rolledBack).toBe(false)
    expect(r.error?.message).toMatch(/This was a rollback, so it is not reversed/)
    expect(router.weights).toEqual({ blue: 100, green: 0 })
  })

  it("the probe's own requests are not real traffic: no users, never a pass", async () => {
    // metrics that count the probed path, and no user at all: every request is the probe's
    prom.requests = 'probe'
    const router = new MemoryRouter({ blue: 100, green: 0 })
    const o = options({ autoRollback: false })
    o.verify!.traffic!.minRequests = 5
    const r = await runBlueGreen(router, o)
    expect(r.verify!.total).toBeGreaterThanOrEqual(5)
    expect(r.traffic?.verdict).toBe('inconclusive')
    expect(r.traffic?.why).toMatch(/requests 0 requests beyond the probe's \d+ \(\d+ counted\)/)
  })

  it('too few requests after every look: inconclusive, never a pass', async () => {
    prom.requests = '20'
    const router = new MemoryRouter({ blue: 100, green: 0 })
    const r = await runBlueGreen(router, options({ autoRollback: false }))
    expect(r.traffic?.verdict).toBe('inconclusive')
    // looked again (the window grows), then gave up at verify-max-duration: 2 looks x 3 queries
    expect(queries.length).toBe(6)
    expect(r.error?.message).toMatch(/auto-rollback is false, so traffic stays on green/)
    expect(router.weights).toEqual({ blue: 0, green: 100 })
  })
})
