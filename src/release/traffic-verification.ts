/**
 * Blue-green verification of real traffic: after the switch, the new live slot's own requests,
 * 5xx and latency histogram are read from Prometheus over the window since the switch and judged
 * by the canary's rules (src/slo/judge.ts: Clopper-Pearson bounds split over the looks, too few
 * requests or no data is inconclusive, never a pass). The synthetic probe stays a smoke test; a
 * switch is verified only when both pass. Pure decisions first, the I/O loop last.
 */
import { formatDuration, sleep } from '../core/duration.js'
import { log } from '../core/log.js'
import {
  judgeAnalysis,
  type Measurement,
  type Reading,
  type SloThresholds,
  type Verdict
} from '../slo/judge.js'
import { promDuration, renderQuery, type QueryTemplates } from '../slo/queries.js'
import { bucketAround, bucketBounds } from '../slo/prometheus-meta.js'
import { PrometheusClient, type PrometheusOptions, type QueryValue } from '../slo/prometheus.js'
import type { Slot } from '../traffic/slots.js'

export interface TrafficVerifyOptions {
  prometheus: PrometheusOptions
  queries: QueryTemplates
  /** PromQL label matchers of one slot: `{{slot}}` is the slot judged, or one per slot. */
  selector: string | Record<Slot, string>
  minRequests: number
}

/** What the loop needs from Prometheus (PrometheusClient; a fake in tests). */
export interface TrafficReader {
  scrapeIntervalMs(): Promise<number | undefined>
  query(promql: string): Promise<QueryValue>
  /** Histogram `le` values for the slot's selector, when the latency query is known to use it. */
  latencyBuckets?(selector: string): Promise<string[]>
}

export interface TrafficVerdict {
  verdict: Verdict
  measurements: Measurement[]
  /** Requests of the slot counted in the window (increase() estimate), when there was an answer. */
  requests?: number
  /** Upper bound of the error rate (percent), interval judgement only. */
  errorUpperBoundPercent?: number
  p95Ms?: number
  /** The window judged (since the switch), and the looks the confidence was split over. */
  windowMs: number
  looks: number
  /** Why it is not a pass, undefined on a pass. */
  why?: string
}

export interface TrafficRule {
  maxErrorRatePercent: number
  maxP95Ms: number
  minRequests: number
  /**
   * Requests the synthetic probe sent to the slot since the switch. They are in the slot's
   * counters when its metrics count the probed path, so they are taken off the count
   * (withoutProbe): the probe alone (600 clean requests at the defaults) must not make real
   * traffic pass, nor its clean answers dilute the users' errors.
   */
  probeRequests?: number
  judgement: 'interval' | 'point'
  confidence: number
  p95Bucket?: SloThresholds['p95Bucket']
}

/**
 * Pure: when to look at the slot's traffic, in ms since the switch. A look every verify-duration
 * up to verify-max-duration, but none before the window holds two scrapes (a shorter range holds
 * at most one sample: no increase, and a first error is lost). When two scrapes do not fit in
 * verify-max-duration, one look once they do. The confidence is split over all of these.
 */
export function trafficLookTimes(
  durationMs: number,
  maxDurationMs: number,
  scrapeMs: number | undefined
): number[] {
  const earliest = scrapeMs === undefined ? durationMs : Math.max(durationMs, 2 * scrapeMs)
  const times: number[] = []
  for (let k = 1; k * durationMs <= maxDurationMs; k++) {
    if (k * durationMs >= earliest) times.push(k * durationMs)
  }
  return times.length ? times : [earliest]
}

/**
 * Pure: the verdict of one look at the slot's traffic (the canary's judgeAnalysis for one slot,
 * no comparison with the other: after a blue-green switch the old slot has no traffic).
 */
export function judgeTraffic(
  readings: { requests: Reading; errors: Reading; p95Seconds: Reading },
  rule: TrafficRule,
  looks: number,
  windowMs: number,
  queries?: { requests: string; errors: string; p95: string }
): TrafficVerdict & { needsMore: boolean } {
  const thresholds: SloThresholds = {
    maxErrorRatePercent: rule.maxErrorRatePercent,
    maxP95Ms: rule.maxP95Ms,
    minRequests: rule.minRequests,
    maxErrorRateIncreasePoints: 0,
    maxP95IncreasePercent: 0,
    p95NoiseFloorMs: 0,
    errorJudgement: rule.judgement,
    confidence: rule.confidence,
    looks: rule.judgement === 'interval' ? looks : 1,
    p95Bucket: rule.p95Bucket
  }
  const counted = readings.requests
  const users = withoutProbe(counted, readings.errors, rule.probeRequests ?? 0)
  const j = averageOfLastResponses(
    judgeAnalysis({ ...readings, requests: users }, undefined, [], thresholds, queries),
    queries?.p95,
    counted
  )
  if (users !== counted && counted.kind === 'value') {
    const m = j.measurements.find((x) => x.check === 'requests')
    if (m)
      m.shown += ` beyond the probe's ${rule.probeRequests} (${Math.round(counted.value)} counted)`
  }
  const get = (check: string): Measurement | undefined =>
    j.measurements.find((m) => m.check === check)
  const requests = get('requests')?.value ?? undefined
  const p95 = get('p95 latency')?.value ?? undefined
  const why =
    j.verdict === 'pass'
      ? undefined
      : j.measurements
          .filter((m) => m.verdict !== 'pass')
          .map((m) => `${m.check} ${m.shown} (bound ${m.bound})`)
          .join('; ')
  // Fewer requests than min-requests is a reason to look again after a switch (the window
  // grows), unlike a query without an answer: more time cannot bring missing series back.
  const tooFew = requests !== undefined && requests !== null && requests < thresholds.minRequests
  const needsMore =
    j.needsMore ||
    (j.verdict === 'inconclusive' &&
      tooFew &&
      j.measurements.every((m) => m.verdict !== 'inconclusive' || m.value !== null || m.needsMore))
  return {
    verdict: j.verdict,
    needsMore,
    measurements: j.measurements,
    requests: requests === null ? undefined : requests,
    errorUpperBoundPercent: get('error rate')?.highPercent,
    p95Ms: p95 === null ? undefined : p95,
    windowMs,
    looks,
    why
  }
}

/**
 * Pure: the users' requests: the count less the probe's own (which went through the router to
 * the slot since the switch), never below the errors counted. Conservative whether or not the
 * metrics count the probed path: the probe's clean answers neither fill min-requests nor dilute
 * the users' errors (600 clean probe requests made 2 errors of 100 users read 0.29 %).
 */
export function withoutProbe(requests: Reading, errors: Reading, probe: number): Reading {
  if (probe <= 0 || requests.kind !== 'value' || !Number.isFinite(requests.value)) return requests
  if (requests.value < 0) return requests
  const floor =
    errors.kind === 'value' && Number.isFinite(errors.value) ? Math.max(0, errors.value) : 0
  return { kind: 'value', value: Math.min(requests.value, Math.max(requests.value - probe, floor)) }
}

/** HAProxy's `*_time_average_seconds`: the average over the server's last 1024 responses. */
const HAPROXY_AVERAGE = /haproxy_\w+_time_average_seconds/
const HAPROXY_AVERAGE_OF = 1024

/**
 * Pure: a latency query reading HAProxy's average (the haproxy preset) has no window: until
 * the slot has answered 1024 requests since the switch, part of that average is from before it
 * (the slot's previous release, kept by the runtime API's weight changes), so it is not judged
 * yet (look again). It is shown as the average it is, not as a P95.
 */
export function averageOfLastResponses<
  J extends { verdict: Verdict; measurements: Measurement[]; needsMore: boolean }
>(j: J, p95Query: string | undefined, counted?: Reading): J {
  if (!p95Query || !HAPROXY_AVERAGE.test(p95Query)) return j
  // every response since the switch, the probe's included, is one of the 1024
  const requests =
    counted?.kind === 'value'
      ? counted.value
      : (j.measurements.find((m) => m.check === 'requests')?.value ?? null)
  const measurements = j.measurements.map((m): Measurement => {
    if (m.check !== 'p95 latency' || m.value === null) return m
    const shown = `${Math.round(m.value)} ms HAProxy average of the last ${HAPROXY_AVERAGE_OF} responses, not a P95`
    if (requests !== null && requests >= HAPROXY_AVERAGE_OF) return { ...m, shown }
    return {
      ...m,
      shown: `${shown}; inconclusive: ${requests === null ? 'no request count' : `${Math.round(requests)} requests`} since the switch, so part of it is from before`,
      bound: `${m.bound}, over >= ${HAPROXY_AVERAGE_OF} requests since the switch`,
      verdict: 'inconclusive',
      needsMore: requests !== null
    }
  })
  const verdict: Verdict = measurements.some((x) => x.verdict === 'fail')
    ? 'fail'
    : measurements.some((x) => x.verdict === 'inconclusive')
      ? 'inconclusive'
      : 'pass'
  const needsMore =
    verdict === 'inconclusive' &&
    measurements.filter((x) => x.verdict === 'inconclusive').every((x) => x.needsMore)
  return { ...j, verdict, measurements, needsMore }
}

/**
 * Pure: look again or stop. A pass or a fail is final; an inconclusive look for want of
 * requests (below min-requests, or too few for the bound) goes on while a look is left; no data
 * (Prometheus down, a partial answer, no series, NaN) stops at once: waiting would keep users on
 * an unverified release for nothing.
 */
export function afterTrafficLook(
  verdict: Verdict,
  needsMore: boolean,
  lookIndex: number,
  looks: number
): 'stop' | 'look again' {
  if (verdict !== 'inconclusive') return 'stop'
  return needsMore && lookIndex + 1 < looks ? 'look again' : 'stop'
}

/** Pure: the verification's verdict from the probe's and, when configured, real traffic's. */
export function combinedVerdict(probe: Verdict | undefined, traffic: Verdict | undefined): Verdict {
  const all = [probe, traffic].filter((v): v is Verdict => v !== undefined)
  if (all.length === 0) return 'inconclusive'
  if (all.includes('fail')) return 'fail'
  if (all.includes('inconclusive')) return 'inconclusive'
  return 'pass'
}

async function read(p: TrafficReader, q: string): Promise<Reading> {
  try {
    return await p.query(q)
  } catch (e) {
    return { kind: 'error', message: (e as Error).message }
  }
}

/**
 * Reads and judges the slot's real traffic since `switchedAt` (performance.now() of the
 * switch), looking at the times trafficLookTimes gives until a look is decisive.
 */
export async function verifyTraffic(
  reader: TrafficReader,
  options: TrafficVerifyOptions,
  rule: Omit<TrafficRule, 'p95Bucket' | 'minRequests'>,
  timing: { durationMs: number; maxDurationMs: number },
  slot: Slot,
  switchedAt: number
): Promise<TrafficVerdict> {
  const selector =
    typeof options.selector === 'string'
      ? options.selector.replace(/\{\{\s*slot\s*\}\}/g, slot)
      : options.selector[slot]
  const scrapeMs = await reader.scrapeIntervalMs()
  const times = trafficLookTimes(timing.durationMs, timing.maxDurationMs, scrapeMs)
  const full: TrafficRule = { ...rule, minRequests: options.minRequests }
  // The bucket holding the bound: read again at each look until known (a slot that served
  // nothing before the switch has no histogram series until its first scrape after it).
  const readBuckets = async (): Promise<void> => {
    if (rule.judgement !== 'interval' || !reader.latencyBuckets || full.p95Bucket) return
    try {
      full.p95Bucket = bucketAround(await reader.latencyBuckets(selector), rule.maxP95Ms / 1000)
    } catch (e) {
      log.warning(`could not read the latency histogram's buckets: ${(e as Error).message}`)
    }
  }
  const scrape =
    scrapeMs === undefined
      ? 'scrape interval not known'
      : `scrape interval ${formatDuration(scrapeMs)}`
  return log.group(
    `Verify real traffic of ${slot} from Prometheus (${selector}): up to ${times.length} looks, ${scrape}`,
    async () => {
      let last: TrafficVerdict | undefined
      // The probe may have taken longer than the first looks: start at the latest one due.
      const since = performance.now() - switchedAt
      const first = Math.max(0, times.filter((t) => t <= since).length - 1)
      for (let i = first; i < times.length; i++) {
        await sleep(Math.max(0, switchedAt + times[i] - performance.now()))
        const windowMs = Math.max(times[i], performance.now() - switchedAt)
        const vars = { selector, interval: promDuration(windowMs) }
        const queries = {
          requests: renderQuery('request-count-query', options.queries.requests, vars),
          errors: renderQuery('error-rate-query', options.queries.errors, vars),
          p95: renderQuery('latency-query', options.queries.p95, vars)
        }
        await readBuckets()
        const [requests, errors, p95Seconds] = await Promise.all([
          read(reader, queries.requests),
          read(reader, queries.errors),
          read(reader, queries.p95)
        ])
        const j = judgeTraffic(
          { requests, errors, p95Seconds },
          full,
          times.length,
          windowMs,
          queries
        )
        last = j
        log.info(
          `look ${i + 1}/${times.length} (${formatDuration(windowMs)} since the switch): ${j.verdict.toUpperCase()} — ${j.measurements.map((m) => `${m.check} ${m.shown}`).join('; ')}`
        )
        // Scrape interval not known: the window may not hold two scrapes yet, so no series is
        // not yet "no data" (it would roll back a healthy release at the first look).
        const earlyEmpty =
          scrapeMs === undefined && [requests, errors, p95Seconds].some((r) => r.kind === 'empty')
        if (afterTrafficLook(j.verdict, j.needsMore || earlyEmpty, i, times.length) === 'stop')
          break
      }
      return last!
    }
  )
}

/**
 * Pure: the `_bucket` series a histogram_quantile latency query reads (the presets' and a
 * custom query's alike), for the buckets around the bound; undefined when the query reads no
 * histogram or several. Without the buckets a P95 interpolated inside the bucket that holds the
 * bound would pass (250 ms + 5.5 % of 6 % in (250 ms, 500 ms] shows 292 ms < 300 ms, whatever
 * those requests really took).
 */
export function latencyBucketSeries(template: string, selector: string): string | undefined {
  if (!/histogram_quantile\s*\(/.test(template)) return undefined
  const names = new Set(
    [...template.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*_bucket)\s*\{/g)].map((m) => m[1])
  )
  return names.size === 1 ? `${[...names][0]}{ ${selector} }` : undefined
}

/** The reader on a real Prometheus; the histogram's buckets whenever the latency query reads one. */
export function prometheusTrafficReader(o: TrafficVerifyOptions): TrafficReader {
  const client = new PrometheusClient(o.prometheus)
  return {
    scrapeIntervalMs: () => client.scrapeIntervalMs(),
    query: (q) => client.query(q),
    latencyBuckets:
      latencyBucketSeries(o.queries.p95, '') !== undefined
        ? (selector) => bucketBounds(o.prometheus, latencyBucketSeries(o.queries.p95, selector)!)
        : undefined
  }
}
