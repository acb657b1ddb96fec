// Contract test: runSequentialCanary on the in-memory router against a stand-in Prometheus
// (a real one cannot be made to answer with `warnings`, the partial result Thanos gives).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CanaryOptions } from '../../src/release/canary.js'
import { runSequentialCanary } from '../../src/release/canary-sequential.js'
import type { PrometheusClient } from '../../src/slo/prometheus.js'
import { DEFAULT_QUERIES } from '../../src/slo/queries.js'
import { MemoryRouter } from './memory-router.js'

let server: Server
let url: string
let warnings: string[] = []
let calls = 0
/** Cumulative counter value of a tag at the n-th read (default: 1000 more requests a read). */
let counter: (tag: string, n: number) => number = (m, n) => (m.endsWith('errors') ? 0 : 1000 * n)

beforeAll(async () => {
  server = createServer((req, res) => {
    const query = new URL(req.url!, 'http://x').searchParams.get('query') ?? ''
    res.writeHead(200, { 'content-type': 'application/json' })
    if (query.startsWith('count by (le)')) {
      res.end(
        JSON.stringify({
          status: 'success',
          data: {
            resultType: 'vector',
            result: ['0.5', '+Inf'].map((le) => ({ metric: { le }, value: [1, '1'] }))
          }
        })
      )
      return
    }
    calls++
    // a clean canary: 1000 requests a poll, no errors, all fast
    const tags = [...query.matchAll(/"m", "(\w+)"/g)].map((m) => m[1])
    const result = tags.map((m) => ({
      metric: { m },
      value: [1, String(counter(m, calls))]
    }))
    res.end(
      JSON.stringify({
        status: 'success',
        ...(warnings.length ? { warnings } : {}),
        data: { resultType: 'vector', result }
      })
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.close()
})

const options: CanaryOptions = {
  steps: [50, 100],
  stepDurationMs: 10,
  intervalMs: 20,
  thresholds: {
    maxErrorRatePercent: 0.1,
    maxP95Ms: 500,
    minRequests: 0,
    maxErrorRateIncreasePoints: 0.5,
    maxP95IncreasePercent: 50,
    p95NoiseFloorMs: 50
  },
  queries: DEFAULT_QUERIES,
  canarySelector: 'slot="{{canary}}"',
  stableSelector: 'slot="{{stable}}"',
  extraChecks: [],
  failureLimit: 0,
  maxInconclusive: 2,
  compareWithStable: false,
  owner: 'test',
  lockTimeoutMs: 1000
}
const prometheus = {} as PrometheusClient
const settings = () => ({ alpha: 0.01, pollIntervalMs: 20, prometheus: { url, timeoutMs: 2000 } })

describe('sequential canary on an in-memory router', () => {
  it('arms the cancel restore before a step moves traffic (a SIGTERM during the move restores)', async () => {
    warnings = []
    const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
    const seen: number[] = []
    const armedAtChange: (number | undefined)[] = []
    const setWeights = router.setWeights.bind(router)
    router.setWeights = async (w, meta) => {
      armedAtChange.push(seen.at(-1))
      return setWeights(w, meta)
    }
    const r = await runSequentialCanary(router, prometheus, options, settings(), (s) =>
      seen.push(s.weight)
    )
    expect(r.result).toBe('promoted')
    // what the cancel handler knew when each step's change began
    expect(armedAtChange).toEqual([50, 100])
  })

  it('a Prometheus answer with warnings (partial result) is no data, never a pass', async () => {
    warnings = ['store 10.0.0.7:10901 unavailable: partial response']
    try {
      const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
      const r = await runSequentialCanary(router, prometheus, options, settings())
      expect(r.result).toBe('aborted')
      expect(r.abortReason).toMatch(/without data .*partial result.*10\.0\.0\.7/)
      expect(router.weights).toEqual({ blue: 100, green: 0 })
    } finally {
      warnings = []
    }
  })

  it('a counter reset on one of two canary pods is not counted as new requests', async () => {
    calls = 0
    // two canary pods, 50 requests a read each; pod a restarts at the 4th read (its 150 are gone)
    counter = (m, n) => {
      if (m.endsWith('errors')) return 0
      const b = 50 * n + 100_000 // pod b has served this slot for a long time
      const a = n < 4 ? 50 * n : 50 * (n - 4)
      return a + b
    }
    try {
      const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
      const r = await runSequentialCanary(
        router,
        prometheus,
        { ...options, steps: [100], stepDurationMs: 150 },
        settings()
      )
      const shown = r.decisions.at(-1)!.measurements.find((x) => x.check === 'error rate')!.shown
      const served = Number(/\(0\/(\d+)\)/.exec(shown)![1])
      // at most 100 requests a read were served; pod b's history is not this canary's traffic
      expect(served).toBeLessThanOrEqual(100 * (calls - 1))
    } finally {
      counter = (m, n) => (m.endsWith('errors') ? 0 : 1000 * n)
    }
  })

  it('tiny traffic: a step that never reaches min-requests says so (not an error-rate failure)', async () => {
    calls = 0
    counter = (m, n) => (m.endsWith('errors') ? 0 : n) // one request a poll
    try {
      const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
      const r = await runSequentialCanary(
        router,
        prometheus,
        { ...options, thresholds: { ...options.thresholds, minRequests: 1000 } },
        settings()
      )
      expect(r.result).toBe('aborted')
      expect(r.failedCheck).toBe('requests')
      expect(r.abortReason).toMatch(/served \d+ of the 1000 requests min-requests asks for/)
      expect(router.weights).toEqual({ blue: 100, green: 0 })
    } finally {
      counter = (m, n) => (m.endsWith('errors') ? 0 : 1000 * n)
    }
  })
})
