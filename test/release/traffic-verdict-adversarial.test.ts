import { describe, expect, it } from '@jest/globals'
import {
  judgeTraffic,
  latencyBucketSeries,
  prometheusTrafficReader,
  verifyTraffic,
  type TrafficReader,
  type TrafficRule
} from '../../src/release/traffic-verification.js'
import { METRICS_PRESETS } from '../../src/slo/presets.js'
import { DEFAULT_QUERIES } from '../../src/slo/queries.js'

const rule: Omit<TrafficRule, 'minRequests' | 'p95Bucket'> = {
  maxErrorRatePercent: 1,
  maxP95Ms: 300,
  judgement: 'interval',
  confidence: 0.95
}
const options = (p95: string) => ({
  prometheus: { url: 'http://127.0.0.1:1', timeoutMs: 100 },
  queries: { ...DEFAULT_QUERIES, p95 },
  selector: 'service=~"app-{{slot}}"',
  minRequests: 50
})

describe('the P95 inside the bucket that holds the bound is never a pass', () => {
  it('every preset with a histogram has its buckets read, not only the default query', () => {
    for (const name of ['ingress-nginx', 'fastapi-instrumentator', 'prometheus-client']) {
      const q = METRICS_PRESETS[name].queries.p95
      expect(latencyBucketSeries(q, 'a="b"')).toMatch(/^[a-z_]+_bucket\{ a="b" \}$/)
      expect(prometheusTrafficReader(options(q)).latencyBuckets).toBeDefined()
    }
    expect(latencyBucketSeries(METRICS_PRESETS.haproxy.queries.p95, 'a="b"')).toBeUndefined()
  })

  // ingress-nginx buckets .25 and .5 around a 300 ms bound: 94 % below 250 ms, 6 % at 490 ms
  // gives histogram_quantile 250 + (0.95 - 0.94) / 0.06 * 250 = 292 ms, a P95 of 490 ms.
  const reader = (
    bucketsAtLook: number,
    firstRequests = 5000
  ): TrafficReader & { looks: number } => {
    const r = {
      looks: 0,
      scrapeIntervalMs: async () => 10,
      query: async (q: string) => {
        if (q.startsWith('sum(increase(')) r.looks++
        if (q.startsWith('histogram_quantile')) return { kind: 'value' as const, value: 0.2917 }
        if (q.startsWith('sum(increase('))
          return { kind: 'value' as const, value: r.looks === 1 ? firstRequests : 5000 }
        return { kind: 'value' as const, value: 0 }
      },
      // a slot without series before the switch: no buckets until a scrape after it
      latencyBuckets: async () =>
        r.looks + 1 >= bucketsAtLook ? ['0.1', '0.25', '0.5', '1', '+Inf'] : []
    }
    return r
  }
  it('buckets known at the first look: inconclusive', async () => {
    const t = await verifyTraffic(
      reader(1),
      options(METRICS_PRESETS['ingress-nginx'].queries.p95),
      rule,
      { durationMs: 20, maxDurationMs: 20 },
      'green',
      performance.now()
    )
    expect(t.verdict).toBe('inconclusive')
    expect(t.why).toMatch(/bucket \(250 ms, 500 ms\]/)
  })
  it('buckets not there at the first look (too few requests) are read again at the next', async () => {
    const t = await verifyTraffic(
      reader(2, 30),
      options(METRICS_PRESETS['ingress-nginx'].queries.p95),
      rule,
      { durationMs: 20, maxDurationMs: 40 },
      'green',
      performance.now()
    )
    expect(t.verdict).toBe('inconclusive')
  })
})

describe("HAProxy preset: the server's average covers its last 1024 responses", () => {
  const q = {
    requests: METRICS_PRESETS.haproxy.queries.requests,
    errors: METRICS_PRESETS.haproxy.queries.errors,
    p95: METRICS_PRESETS.haproxy.queries.p95
  }
  const v = (value: number) => ({ kind: 'value' as const, value })
  const full: TrafficRule = { ...rule, minRequests: 50 }
  it('fewer responses since the switch: the average is partly from before it, not judged', () => {
    // 600 clean responses since the switch; the rest of the 1024 are the slot's previous release
    const j = judgeTraffic(
      { requests: v(600), errors: v(0), p95Seconds: v(0.05) },
      full,
      1,
      60_000,
      q
    )
    expect(j.verdict).toBe('inconclusive')
    expect(j.needsMore).toBe(true)
    expect(j.why).toMatch(/1024/)
  })
  it('1024 or more since the switch: judged, and called an average, not a P95', () => {
    const j = judgeTraffic(
      { requests: v(5000), errors: v(0), p95Seconds: v(0.05) },
      full,
      1,
      60_000,
      q
    )
    expect(j.verdict).toBe('pass')
    expect(j.measurements.find((m) => m.check.includes('latency'))?.shown).toMatch(/average/)
  })
})

describe("the probe's clean requests do not dilute the users' errors", () => {
  const v = (value: number) => ({ kind: 'value' as const, value })
  it('700 counted, 600 of them the probe: 2 errors are 2 % of users, not 0.29 %', () => {
    const j = judgeTraffic(
      { requests: v(700), errors: v(2), p95Seconds: v(0.05) },
      { ...rule, minRequests: 50, probeRequests: 600 },
      1,
      60_000
    )
    expect(j.verdict).not.toBe('pass')
    expect(j.requests).toBe(100)
  })
  it('never fewer requests than errors: all-5xx users are a failure, not "disagreeing queries"', () => {
    // an app whose metrics leave out the probed /healthz: only 80 user requests, all 5xx
    const j = judgeTraffic(
      { requests: v(80), errors: v(80), p95Seconds: v(0.05) },
      { ...rule, minRequests: 50, probeRequests: 600 },
      1,
      60_000
    )
    expect(j.verdict).toBe('fail')
  })
})

describe('scrape interval not known (a managed Prometheus without /status/config)', () => {
  it('no series at the first look may be a window shorter than two scrapes: look again', async () => {
    let look = 0
    const r: TrafficReader = {
      scrapeIntervalMs: async () => undefined,
      query: async (q) => {
        if (q.startsWith('sum(increase(')) look++
        if (look === 1) return { kind: 'empty' }
        if (q.startsWith('histogram_quantile')) return { kind: 'value', value: 0.05 }
        return { kind: 'value', value: q.startsWith('sum(increase(') ? 5000 : 0 }
      }
    }
    const t = await verifyTraffic(
      r,
      options(DEFAULT_QUERIES.p95),
      rule,
      { durationMs: 20, maxDurationMs: 40 },
      'green',
      performance.now()
    )
    expect(look).toBe(2)
    expect(t.verdict).toBe('pass')
  })
})

describe('counts too large to be counts', () => {
  it('1e300 requests with 1 % errors at a 1 % bound is no data, not a pass (the bound breaks down)', () => {
    const v = (value: number) => ({ kind: 'value' as const, value })
    const j = judgeTraffic(
      { requests: v(1e300), errors: v(1e298), p95Seconds: v(0.05) },
      { ...rule, minRequests: 50 },
      1,
      60_000
    )
    expect(j.verdict).toBe('inconclusive')
    expect(j.why).toMatch(/not a count/)
  })
})
