import { describe, expect, it, jest, test } from '@jest/globals'
import { readDeployInputs } from '../../src/actions/deploy-bluegreen/inputs.js'
import { Inputs } from '../../src/core/inputs.js'
import { runContextFromEnv } from '../../src/core/run-context.js'
import {
  afterTrafficLook,
  combinedVerdict,
  judgeTraffic,
  trafficLookTimes,
  verifyTraffic,
  type TrafficReader,
  type TrafficRule
} from '../../src/release/traffic-verification.js'
import type { Reading } from '../../src/slo/judge.js'
import { DEFAULT_QUERIES } from '../../src/slo/queries.js'

const v = (value: number): Reading => ({ kind: 'value', value })
const rule: TrafficRule = {
  maxErrorRatePercent: 1,
  maxP95Ms: 500,
  minRequests: 50,
  judgement: 'interval',
  confidence: 0.95
}

describe('trafficLookTimes: every verify-duration, never before two scrapes', () => {
  test.each([
    [30_000, 300_000, 15_000, [30, 60, 90, 120, 150, 180, 210, 240, 270, 300]],
    [10_000, 40_000, 15_000, [30, 40]],
    [10_000, 40_000, undefined, [10, 20, 30, 40]],
    // two scrapes (2 m) do not fit in verify-max-duration: one look once they do
    [10_000, 30_000, 60_000, [120]],
    [5_000, 5_000, 1_000, [5]]
  ])('duration %d, max %d, scrape %p', (d, max, scrape, seconds) => {
    expect(trafficLookTimes(d, max, scrape)).toEqual(seconds.map((s) => s * 1000))
  })
})

describe('judgeTraffic: the canary rules on one slot', () => {
  test.each<[string, Reading, Reading, Reading, string, boolean]>([
    ['clean and enough', v(1000), v(0), v(0.05), 'pass', false],
    ['5 % errors', v(1000), v(50), v(0.05), 'fail', false],
    ['clean, too few for the bound', v(100), v(0), v(0.05), 'inconclusive', true],
    ['below min-requests: look again', v(20), v(0), v(0.05), 'inconclusive', true],
    [
      'below min-requests, P95 without an answer',
      v(20),
      v(0),
      { kind: 'empty' },
      'inconclusive',
      false
    ],
    ['errors query without series', v(1000), { kind: 'empty' }, v(0.05), 'inconclusive', false],
    [
      'Prometheus unreachable',
      { kind: 'error', message: 'Prometheus at http://127.0.0.1:1 unreachable: ECONNREFUSED' },
      { kind: 'error', message: 'unreachable' },
      { kind: 'error', message: 'unreachable' },
      'inconclusive',
      false
    ],
    [
      'a partial answer (warnings)',
      v(1000),
      {
        kind: 'error',
        message: 'Prometheus answered with warnings (a partial result): store down'
      },
      v(0.05),
      'inconclusive',
      false
    ],
    ['P95 too slow', v(1000), v(0), v(0.8), 'fail', false],
    ['P95 NaN (no histogram)', v(1000), v(0), { kind: 'nan' }, 'inconclusive', false]
  ])('%s', (_, requests, errors, p95Seconds, verdict, needsMore) => {
    const j = judgeTraffic({ requests, errors, p95Seconds }, rule, 2, 30_000)
    expect(j.verdict).toBe(verdict)
    expect(j.needsMore).toBe(needsMore)
    if (verdict !== 'pass') expect(j.why).toBeTruthy()
    else expect(j.why).toBeUndefined()
  })

  it('reports the figures: requests, the error bound, the P95', () => {
    const j = judgeTraffic({ requests: v(1000), errors: v(0), p95Seconds: v(0.05) }, rule, 1, 1)
    expect(j.requests).toBe(1000)
    expect(j.errorUpperBoundPercent).toBeCloseTo(0.299, 2)
    expect(j.p95Ms).toBe(50)
  })

  it('splits the confidence over the looks: the same counts pass at 1 look, not at 10', () => {
    const at = (looks: number): string =>
      judgeTraffic({ requests: v(400), errors: v(0), p95Seconds: v(0.05) }, rule, looks, 1).verdict
    expect(at(1)).toBe('pass')
    expect(at(10)).toBe('inconclusive')
  })
})

describe('afterTrafficLook and combinedVerdict', () => {
  test.each([
    ['pass', false, 0, 3, 'stop'],
    ['fail', false, 0, 3, 'stop'],
    ['inconclusive', true, 0, 3, 'look again'],
    ['inconclusive', true, 2, 3, 'stop'],
    ['inconclusive', false, 0, 3, 'stop']
  ] as const)('%s needsMore %p look %d/%d: %s', (verdict, more, i, looks, next) => {
    expect(afterTrafficLook(verdict, more, i, looks)).toBe(next)
  })

  test.each([
    ['pass', undefined, 'pass'],
    ['pass', 'pass', 'pass'],
    ['pass', 'inconclusive', 'inconclusive'],
    ['pass', 'fail', 'fail'],
    ['inconclusive', 'fail', 'fail'],
    [undefined, undefined, 'inconclusive']
  ] as const)('probe %p, traffic %p: %s', (probe, traffic, verdict) => {
    expect(combinedVerdict(probe, traffic)).toBe(verdict)
  })
})

describe('verifyTraffic: the loop over a fake Prometheus', () => {
  const reader = (
    answers: Record<string, number>[],
    scrapeMs = 10
  ): TrafficReader & { asked: string[] } => {
    let look = -1
    const asked: string[] = []
    return {
      asked,
      scrapeIntervalMs: async () => scrapeMs,
      query: async (q) => {
        asked.push(q)
        if (q.startsWith('sum(increase(http_requests_total')) look++
        const a = answers[Math.min(look, answers.length - 1)]
        const key = q.startsWith('histogram_quantile')
          ? 'p95'
          : q.startsWith('sum(')
            ? 'requests'
            : 'errors'
        return { kind: 'value', value: a[key] }
      }
    }
  }
  const options = {
    prometheus: { url: 'http://127.0.0.1:1', timeoutMs: 100 },
    queries: DEFAULT_QUERIES,
    selector: 'slot="{{slot}}"',
    minRequests: 50
  }

  it('looks again while the requests are too few, and passes once they suffice', async () => {
    const r = reader([
      { requests: 100, errors: 0, p95: 0.05 },
      { requests: 2000, errors: 0, p95: 0.05 }
    ])
    const t = await verifyTraffic(
      r,
      options,
      rule,
      { durationMs: 20, maxDurationMs: 60 },
      'green',
      performance.now()
    )
    expect(t.verdict).toBe('pass')
    expect(t.looks).toBe(3)
    expect(t.requests).toBe(2000)
    expect(r.asked.every((q) => !q.includes('{{'))).toBe(true)
    expect(r.asked.some((q) => q.includes('slot="green"'))).toBe(true)
  })

  it('stops at once on a failure', async () => {
    const r = reader([{ requests: 1000, errors: 50, p95: 0.05 }])
    const t = await verifyTraffic(
      r,
      options,
      rule,
      { durationMs: 20, maxDurationMs: 200 },
      'blue',
      performance.now()
    )
    expect(t.verdict).toBe('fail')
    expect(r.asked.length).toBe(3)
  })

  it('Prometheus down: inconclusive at once, never a pass', async () => {
    const down: TrafficReader = {
      scrapeIntervalMs: async () => undefined,
      query: async () => {
        throw new Error('Prometheus at http://127.0.0.1:1 unreachable: ECONNREFUSED')
      }
    }
    const t = await verifyTraffic(
      down,
      options,
      rule,
      { durationMs: 20, maxDurationMs: 200 },
      'blue',
      performance.now()
    )
    expect(t.verdict).toBe('inconclusive')
    expect(t.why).toMatch(/unreachable/)
  })
})

describe('deploy-bluegreen inputs for real traffic', () => {
  const read = (values: Record<string, string>) =>
    readDeployInputs(
      new Inputs(
        (n) =>
          ({
            router: 'haproxy',
            'haproxy-socket': '/run/haproxy/admin.sock',
            'health-url-blue': 'http://127.0.0.1:1/healthz',
            'health-url-green': 'http://127.0.0.1:2/healthz',
            ...values
          })[n] ?? ''
      ),
      runContextFromEnv({})
    )

  it('verify-prometheus-url needs verify-url', () => {
    expect(() => read({ 'verify-prometheus-url': 'http://127.0.0.1:9090' })).toThrow(
      /input `verify-prometheus-url` = `http:\/\/127.0.0.1:9090` needs `verify-url`/
    )
  })

  it('selector: slot-label by default, the preset, or the input, which must name {{slot}}', () => {
    const base = {
      'verify-url': 'http://127.0.0.1:3/',
      'verify-prometheus-url': 'http://127.0.0.1:9090'
    }
    expect(read(base).release.verify?.traffic?.selector).toBe('slot="{{slot}}"')
    expect(read({ ...base, 'slot-label': 'color' }).release.verify?.traffic?.selector).toBe(
      'color="{{slot}}"'
    )
    const haproxy = read({ ...base, 'metrics-preset': 'haproxy' }).release.verify?.traffic
    expect(haproxy?.selector).toEqual({
      blue: 'proxy="app", server="blue"',
      green: 'proxy="app", server="green"'
    })
    expect(haproxy?.queries.requests).toMatch(/haproxy_server_http_responses_total/)
    expect(() => read({ ...base, 'verify-selector': 'slot="green"' })).toThrow(
      /input `verify-selector` = `slot="green"`: must contain \{\{slot\}\}/
    )
    expect(read({ 'verify-url': 'http://127.0.0.1:3/' }).release.verify?.traffic).toBeUndefined()
  })
})

describe('preset selectors narrowed to this router: no other backend or app counted', () => {
  const base = {
    'verify-url': 'http://127.0.0.1:3/',
    'verify-prometheus-url': 'http://127.0.0.1:9090'
  }
  it("haproxy: this backend's servers, by the names the router switches", () => {
    const t = readDeployInputs(
      new Inputs(
        (n) =>
          ({
            router: 'haproxy',
            'haproxy-socket': '/run/haproxy/admin.sock',
            'haproxy-backend': 'shop',
            'blue-server': 'shop_b',
            'green-server': 'shop_g',
            'health-url-blue': 'http://127.0.0.1:1/healthz',
            'health-url-green': 'http://127.0.0.1:2/healthz',
            'metrics-preset': 'haproxy',
            ...base
          })[n] ?? ''
      ),
      runContextFromEnv({})
    ).release.verify?.traffic
    // server="green" alone matched every backend's server named green (or none of this one's)
    expect(t?.selector).toEqual({
      blue: 'proxy="shop", server="shop_b"',
      green: 'proxy="shop", server="shop_g"'
    })
  })
  it("ingress-nginx: the app's own per-slot Services, not every `-green` Service", () => {
    const t = readDeployInputs(
      new Inputs(
        (n) =>
          ({
            router: 'kubernetes',
            app: 'shop',
            'deploy-command': 'true',
            'health-url-blue': 'http://127.0.0.1:1/healthz',
            'health-url-green': 'http://127.0.0.1:2/healthz',
            'metrics-preset': 'ingress-nginx',
            ...base
          })[n] ?? ''
      ),
      runContextFromEnv({})
    ).release.verify?.traffic
    expect(t?.selector).toBe('service="shop-{{slot}}"')
  })
  it('an explicit verify-selector still wins', () => {
    const t = readDeployInputs(
      new Inputs(
        (n) =>
          ({
            router: 'haproxy',
            'haproxy-socket': '/run/haproxy/admin.sock',
            'health-url-blue': 'http://127.0.0.1:1/healthz',
            'health-url-green': 'http://127.0.0.1:2/healthz',
            'metrics-preset': 'haproxy',
            'verify-selector': 'server="{{slot}}"',
            ...base
          })[n] ?? ''
      ),
      runContextFromEnv({})
    ).release.verify?.traffic
    expect(t?.selector).toBe('server="{{slot}}"')
  })
})

describe('a custom error-rate-query that reads no series as 0 errors', () => {
  it('`or vector(0)` without a guard on the label is warned about (a wrong label passes)', () => {
    const warnings: string[] = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((m) => {
      if (String(m).startsWith('warning: ')) warnings.push(String(m))
      return true
    })
    try {
      const read = (q: string) =>
        readDeployInputs(
          new Inputs(
            (n) =>
              ({
                router: 'haproxy',
                'haproxy-socket': '/run/haproxy/admin.sock',
                'health-url-blue': 'http://127.0.0.1:1/healthz',
                'health-url-green': 'http://127.0.0.1:2/healthz',
                'verify-url': 'http://127.0.0.1:3/',
                'verify-prometheus-url': 'http://127.0.0.1:9090',
                'error-rate-query': q
              })[n] ?? ''
          ),
          runContextFromEnv({})
        )
      read(
        'sum(increase(http_requests_total{ {{selector}}, code=~"5.." }[{{interval}}])) or vector(0)'
      )
      expect(warnings.join('')).toMatch(/error-rate-query.*or vector\(0\).*0 errors/)
      warnings.length = 0
      read(DEFAULT_QUERIES.errors)
      read('sum(increase(http_requests_total{ {{selector}}, code=~"5.." }[{{interval}}]))')
      expect(warnings).toEqual([])
    } finally {
      spy.mockRestore()
    }
  })
})
