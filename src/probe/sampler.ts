import { sleep } from '../core/duration.js'
import { probe } from './http.js'

export interface SampleOptions {
  durationMs: number
  /** Requests per second, spread evenly; bounded so the loop always ends. */
  ratePerSecond: number
  timeoutMs: number
  /** Stop early once this many requests failed (no need to keep hurting users). */
  stopAfterFailures?: number
  /**
   * Judge only answers from this slot (by the response header that names it): after an nginx
   * reload, an old worker can still answer on a reused connection for a while. Such answers
   * are "not switched yet", counted apart, neither failures nor passes.
   */
  expectSlot?: { header: string; slot: string }
}

export interface SampleResult {
  total: number
  failed: number
  errorRatePercent: number
  p50Ms: number
  p95Ms: number
  maxMs: number
  /** Status code (or error) -> count, for the summary. */
  outcomes: Record<string, number>
  /** Requests whose reused connection was reset and that were sent once more (see probe). */
  resetsRetried: number
  /** Answers from another slot than `expectSlot` (left out of every figure above). */
  notSwitched: number
  stoppedEarly: boolean
  /** Every judged request's latency, ascending (for bounds over several samples). */
  latenciesMs: number[]
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/**
 * Sends real requests for a while and measures what users get: error rate (non-2xx or no
 * answer) and latency percentiles. Requests are paced, not fired back to back.
 */
export async function sampleTraffic(url: string, options: SampleOptions): Promise<SampleResult> {
  const maxRequests = Math.max(1, Math.round((options.durationMs / 1000) * options.ratePerSecond))
  const gapMs = 1000 / options.ratePerSecond
  const started = Date.now()
  const latencies: number[] = []
  const outcomes: Record<string, number> = {}
  let failed = 0
  let resetsRetried = 0
  let notSwitched = 0
  let stoppedEarly = false
  const expect = options.expectSlot
  const inflight = new Set<Promise<void>>()
  for (let i = 0; i < maxRequests; i++) {
    const due = started + i * gapMs
    const wait = due - Date.now()
    if (wait > 0) await sleep(wait)
    const p = probe(url, options.timeoutMs, expect?.header).then((r) => {
      if (expect && r.slot !== undefined && r.slot !== expect.slot) {
        notSwitched++
        return
      }
      latencies.push(r.ms)
      const key = r.error ?? String(r.status)
      outcomes[key] = (outcomes[key] ?? 0) + 1
      if (!r.ok) failed++
      if (r.resetRetried) resetsRetried++
    })
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
    if (options.stopAfterFailures !== undefined && failed >= options.stopAfterFailures) {
      stoppedEarly = true
      break
    }
  }
  await Promise.all(inflight)
  latencies.sort((a, b) => a - b)
  const total = latencies.length
  return {
    total,
    failed,
    errorRatePercent: total ? (failed / total) * 100 : 0,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    maxMs: latencies[total - 1] ?? NaN,
    outcomes,
    resetsRetried,
    notSwitched,
    stoppedEarly,
    latenciesMs: latencies
  }
}

/** Two samples of the same slot as one (a verification sampled in several looks). */
export function mergeSamples(a: SampleResult, b: SampleResult): SampleResult {
  const latencies = [...a.latenciesMs, ...b.latenciesMs].sort((x, y) => x - y)
  const outcomes = { ...a.outcomes }
  for (const [k, n] of Object.entries(b.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + n
  const total = a.total + b.total
  const failed = a.failed + b.failed
  return {
    total,
    failed,
    errorRatePercent: total ? (failed / total) * 100 : 0,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    outcomes,
    resetsRetried: a.resetsRetried + b.resetsRetried,
    notSwitched: a.notSwitched + b.notSwitched,
    stoppedEarly: a.stoppedEarly || b.stoppedEarly,
    latenciesMs: latencies
  }
}

export function emptySample(): SampleResult {
  return {
    total: 0,
    failed: 0,
    errorRatePercent: 0,
    p50Ms: NaN,
    p95Ms: NaN,
    maxMs: NaN,
    outcomes: {},
    resetsRetried: 0,
    notSwitched: 0,
    stoppedEarly: false,
    latenciesMs: []
  }
}
