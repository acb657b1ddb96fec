import { formatDuration, sleep } from '../core/duration.js'
import { ConfigurationError } from '../core/errors.js'
import { log } from '../core/log.js'
import type { Measurement, Reading } from '../slo/judge.js'
import type { PrometheusClient, PrometheusOptions } from '../slo/prometheus.js'
import {
  bucketBounds,
  chooseBucket,
  readTagged,
  scrapeIntervalMs,
  taggedSums
} from '../slo/prometheus-meta.js'
import { compare, renderQuery } from '../slo/queries.js'
import { SequentialAnalysis, type Batch, type SequentialState } from '../slo/sequential.js'
import type { Router } from '../traffic/router.js'
import { allOn, formatWeights, split } from '../traffic/slots.js'
import {
  backToStableAfterError,
  lockAndPlan,
  type CanaryOptions,
  type CanaryResult,
  type Decision,
  type WeightListener
} from './canary.js'

/**
 * Cumulative counters, read at every poll; batches are their differences. The metric names are
 * those of the default queries (the sample app and most instrumentation libraries).
 */
export const COUNTER_QUERIES = {
  requests: 'sum(http_requests_total{ {{selector}} })',
  // A 5xx count of 0 only while the slot has series with that status label at all (`status`,
  // or `code` as client_golang names it): a wrong label name is no data, never no errors.
  errors:
    '((sum(http_requests_total{ {{selector}}, status=~"5.." }) or vector(0)) and on() (count(http_requests_total{ {{selector}}, status=~".+" }) > 0))' +
    ' or ((sum(http_requests_total{ {{selector}}, code=~"5.." }) or vector(0)) and on() (count(http_requests_total{ {{selector}}, code=~".+" }) > 0))',
  count: 'sum(http_request_duration_seconds_count{ {{selector}} })',
  fast: 'sum(http_request_duration_seconds_bucket{ {{selector}}, le="{{le}}" })',
  buckets: 'http_request_duration_seconds_bucket{ {{selector}} }'
} as const

export interface SequentialCanaryOptions {
  alpha: number
  pollIntervalMs: number
  prometheus: PrometheusOptions
}

/** alpha and poll-interval, the poll interval defaulting to Prometheus's scrape interval. */
export async function sequentialSettings(
  raw: { alpha: number; pollIntervalMs?: number },
  prometheus: PrometheusOptions
): Promise<SequentialCanaryOptions> {
  let pollIntervalMs = raw.pollIntervalMs
  if (pollIntervalMs === undefined) {
    try {
      pollIntervalMs = await scrapeIntervalMs(prometheus)
      log.info(
        `poll-interval: Prometheus scrapes every ${formatDuration(pollIntervalMs)}; polling as often`
      )
    } catch (e) {
      pollIntervalMs = 15_000
      log.warning(`could not read the scrape interval (${(e as Error).message}); polling every 15s`)
    }
  }
  return { alpha: raw.alpha, pollIntervalMs: Math.max(1000, pollIntervalMs), prometheus }
}

interface Counters {
  requests: number
  errors: number
  count: number
  fast: number
}

const value = (r: Reading): number | undefined => (r.kind === 'value' ? r.value : undefined)

/**
 * The counts since the previous read, or undefined when any counter went down. The counters are
 * sums over pods: when one pod restarts (or a scaled-down pod's series go stale) the sum drops,
 * and what it shows then is mostly the other pods' whole history, not new requests. Such a read
 * is only a new baseline: counting it would feed the tests requests that were never served in
 * this canary (a good canary aborted or a bad one diluted).
 */
function deltas<K extends string>(
  now: Record<K, number>,
  before: Record<K, number>,
  keys: readonly K[]
): Record<K, number> | undefined {
  const out = {} as Record<K, number>
  for (const k of keys) {
    if (now[k] < before[k]) return undefined
    out[k] = now[k] - before[k]
  }
  return out
}

/**
 * The canary under anytime-valid sequential analysis: the same steps as runCanary, but the
 * counts are read every poll (the scrape interval) and the run aborts the moment the combined
 * e-value crosses 1/alpha, whatever step it is in. A step advances once its minimum time has
 * passed, the canary served min-requests in it, no test rejects and the observed rates are
 * within the SLOs (the anytime-valid bounds are reported beside them).
 */
export async function runSequentialCanary(
  router: Router,
  prometheus: PrometheusClient,
  o: CanaryOptions,
  s: SequentialCanaryOptions,
  onWeight: WeightListener = () => undefined
): Promise<CanaryResult> {
  const started = Date.now()
  const plannedMs = o.steps.length * o.stepDurationMs
  const initial = await router.read()
  // Lock first, then plan from what is there now (never from the read above).
  const { choice, release } = await lockAndPlan(router, o, initial)
  const { canary, stable } = choice
  const base = { canary, stable, decisions: [] as Decision[], plannedMs }
  const fill = (sel: string): string =>
    sel.replace(/\{\{\s*canary\s*\}\}/g, canary).replace(/\{\{\s*stable\s*\}\}/g, stable)
  const selectors = { canary: fill(o.canarySelector), stable: fill(o.stableSelector) }
  const boundSeconds = o.thresholds.maxP95Ms / 1000
  let les: string[]
  try {
    const bounds = (selector: string): Promise<string[]> =>
      bucketBounds(
        s.prometheus,
        renderQuery('canary-selector', COUNTER_QUERIES.buckets, { selector })
      )
    // A slot that never served has no histogram series yet; both slots run one build's metrics.
    les = await bounds(selectors.canary)
    if (!les.length) les = await bounds(selectors.stable)
  } catch (error) {
    await release()
    throw error
  }
  const le = chooseBucket(les, boundSeconds)
  if (!le) {
    await release()
    throw new ConfigurationError(
      `analysis sequential: http_request_duration_seconds_bucket{${selectors.canary}} has no bucket at or above max-p95-latency (${o.thresholds.maxP95Ms} ms; buckets: ${les.join(', ') || 'none'}); use analysis: interval`,
      'analysis'
    )
  }
  if (Number(le) !== boundSeconds) {
    log.warning(
      `no histogram bucket at ${boundSeconds}s: requests above le="${le}" count as slow (more lenient than max-p95-latency)`
    )
  }

  /** Both slots' counters from one query, so they come from one consistent view. */
  const readAll = async (
    withStable: boolean
  ): Promise<{ canary: Counters; stable?: Counters } | string> => {
    const sums: Record<string, string> = {}
    const slots = withStable ? (['canary', 'stable'] as const) : (['canary'] as const)
    for (const slot of slots) {
      for (const n of ['requests', 'errors', 'count', 'fast'] as const) {
        sums[`${slot}_${n}`] = renderQuery('canary-selector', COUNTER_QUERIES[n], {
          selector: selectors[slot],
          le
        })
      }
    }
    let got: Record<string, number>
    try {
      got = await readTagged(s.prometheus, taggedSums(sums))
    } catch (e) {
      return (e as Error).message
    }
    const missing = Object.keys(sums).filter((k) => got[k] === undefined)
    if (missing.length) return `no data for ${missing.join(', ')}`
    const pick = (slot: string): Counters => ({
      requests: got[`${slot}_requests`],
      errors: got[`${slot}_errors`],
      count: got[`${slot}_count`],
      fast: got[`${slot}_fast`]
    })
    return { canary: pick('canary'), stable: withStable ? pick('stable') : undefined }
  }

  const analysis = new SequentialAnalysis({
    alpha: s.alpha,
    maxErrorRate: o.thresholds.maxErrorRatePercent / 100,
    maxSlowFraction: 0.05,
    compareWithStable: o.compareWithStable
  })
  const judgement = o.thresholds.errorJudgement ?? 'interval'
  if (judgement === 'point') {
    log.warning(
      'error-judgement point: a step advances on its observed rates, no bound is shown (the abort test stays anytime-valid)'
    )
  }
  // Polls with no data in a row that abort: as many as fit in max-inconclusive intervals.
  const maxNoData = o.maxInconclusive * Math.max(1, Math.ceil(o.intervalMs / s.pollIntervalMs))
  let previous: { canary: Counters; stable?: Counters } | undefined
  let noData = 0
  try {
    // The baseline before the canary gets traffic, so the first step's first requests count.
    const first = await readAll(o.compareWithStable)
    if (typeof first !== 'string') previous = first
    for (let i = choice.startStep; i < o.steps.length; i++) {
      const weight = o.steps[i]
      const weights = weight === 100 ? allOn(canary) : split(canary, weight)
      // Armed before the change: a cancel while it is in progress still puts traffic back.
      onWeight({ canary, stable, weight })
      await router.setWeights(weights, { previous: stable, reason: `canary step ${weight}%` })
      log.info(
        `step ${i + 1}/${o.steps.length}: ${canary} at ${weight}% (${formatWeights(weights)})`
      )
      const stepStart = Date.now()
      const withStable = o.compareWithStable && weight < 100
      let stepRequests = 0
      let stepErrors = 0
      let stepSlow = 0
      let stepLatency = 0
      for (let poll = 1; ; poll++) {
        const pollStart = Date.now()
        await sleep(Math.max(0, stepStart + poll * s.pollIntervalMs - Date.now()))
        const read = await readAll(withStable)
        if (typeof read === 'string') {
          noData++
          if (noData >= maxNoData) {
            return await abort(
              `${noData} polls in a row without data (${read})`,
              'requests',
              pollStart
            )
          }
          continue
        }
        const c = read.canary
        const st = read.stable
        noData = 0
        if (!previous) {
          previous = { canary: c, stable: st }
          continue // the first reading is the baseline the batches count from
        }
        const cd = deltas(c, previous.canary, ['requests', 'errors', 'count', 'fast'] as const)
        // a stable baseline from the 100 % step is stale; without one this batch has no stable side
        const sd =
          st && previous.stable
            ? deltas(st, previous.stable, ['requests', 'errors'] as const)
            : { requests: 0, errors: 0 }
        for (const [slot, d] of [
          [canary, cd],
          [stable, sd]
        ] as const) {
          if (!d) {
            log.warning(
              `  the ${slot} counters went down (a pod restarted or its series went stale): this poll is a new baseline, not counted`
            )
          }
        }
        previous = { canary: c, stable: st ?? previous.stable }
        // a reset on one side makes the other side's batch unpaired: neither is counted (but
        // the step's time limit below still applies, so a crash-looping pod cannot stall it)
        const counted = cd && sd
        const batch: Batch = {
          canaryRequests: counted ? Math.round(cd.requests) : 0,
          canaryErrors: counted ? Math.round(cd.errors) : 0,
          stableRequests: counted ? Math.round(sd.requests) : 0,
          stableErrors: counted ? Math.round(sd.errors) : 0,
          canaryLatencyCount: counted ? Math.round(cd.count) : 0,
          canarySlow: counted ? Math.max(0, Math.round(cd.count - cd.fast)) : 0
        }
        stepRequests += batch.canaryRequests
        stepErrors += batch.canaryErrors
        stepSlow += batch.canarySlow
        stepLatency += batch.canaryLatencyCount
        const reject = analysis.update(batch)
        if (reject) {
          const state = analysis.state()
          record(i, weight, poll, state, 'fail')
          const culprit = state.checks.find((x) => x.check === state.culprit)!
          return await abort(
            `sequential test rejected (e-value ${state.eValue.toPrecision(3)} >= ${state.threshold}); at ${weight}% ${culprit.check}: ${culprit.shown}`,
            culprit.check,
            pollStart
          )
        }
        const held = Date.now() - stepStart >= o.stepDurationMs
        // interval (default): the anytime-valid upper bounds of the canary's error rate and slow
        // share (valid at every poll, so no split over looks) must be within the SLOs; point:
        // the step's observed rates, the older and weaker rule.
        const observedOk =
          stepRequests >= o.thresholds.minRequests &&
          (judgement === 'interval'
            ? analysis.state().withinBounds
            : stepErrors / stepRequests <= o.thresholds.maxErrorRatePercent / 100 + 1e-12 &&
              (stepLatency === 0 || stepSlow / stepLatency <= 0.05))
        if (held && observedOk) {
          const extrasFailed = await extraChecks(i, weight, poll)
          if (extrasFailed) return await abort(extrasFailed.reason, extrasFailed.check, pollStart)
          record(i, weight, poll, analysis.state(), 'pass')
          log.info(
            `  step ${weight}% held ${formatDuration(Date.now() - stepStart)}, ${poll} polls: within bounds` +
              (judgement === 'interval'
                ? `: ${describeUpper(analysis.state())} at ${Number(((1 - s.alpha) * 100).toPrecision(3))} % (anytime-valid, over ${analysis.state().checks[1].trials} canary requests so far)`
                : ' (observed rates, error-judgement point)')
          )
          break
        }
        if (poll % 10 === 0) {
          const st8 = analysis.state()
          log.info(
            `  poll ${poll} at ${weight}%: e-value ${st8.eValue.toPrecision(3)} (abort at ${st8.threshold}); ${st8.checks.map((x) => `${x.check} ${x.shown}`).join('; ')}`
          )
        }
        if (Date.now() - stepStart > 10 * o.stepDurationMs + 10 * o.intervalMs) {
          record(i, weight, poll, analysis.state(), 'inconclusive')
          // too little traffic is not an error-rate failure: say which one it was
          const tooFew = stepRequests < o.thresholds.minRequests
          return await abort(
            tooFew
              ? `step ${weight}%: the canary served ${stepRequests} of the ${o.thresholds.minRequests} requests min-requests asks for in ${formatDuration(Date.now() - stepStart)} (too little traffic to judge; ${stepErrors} errors)`
              : `inconclusive: step ${weight}% did not come within bounds in ${formatDuration(Date.now() - stepStart)} (observed ${stepErrors}/${stepRequests} errors, ${stepSlow}/${stepLatency} slow${judgement === 'interval' ? `; anytime-valid upper bounds ${describeUpper(analysis.state())}` : ''})`,
            tooFew
              ? 'requests'
              : stepErrors / Math.max(1, stepRequests) > o.thresholds.maxErrorRatePercent / 100
                ? 'error rate'
                : 'p95 latency',
            pollStart
          )
        }
      }
    }
    onWeight({ canary, stable, weight: 100 })
    return { ...base, result: 'promoted', finalWeight: 100, durationMs: Date.now() - started }
  } catch (error) {
    await backToStableAfterError(router, canary, stable, onWeight)
    throw error
  } finally {
    await release()
  }

  function record(
    step: number,
    weight: number,
    poll: number,
    state: SequentialState,
    verdict: Decision['verdict']
  ): void {
    const measurements: Measurement[] = state.checks.map((x) => ({
      check: x.check,
      value: x.eValue,
      shown: x.shown,
      bound: x.bound,
      verdict:
        verdict === 'fail' && x.check === state.culprit
          ? 'fail'
          : verdict === 'fail'
            ? 'pass'
            : verdict,
      note: `weight ${x.weight} in the combined e-value ${state.eValue.toPrecision(3)}`
    }))
    base.decisions.push({
      step: step + 1,
      weight,
      analysis: poll,
      at: new Date().toISOString(),
      verdict,
      measurements
    })
  }

  async function abort(reason: string, check: string, pollStart: number): Promise<CanaryResult> {
    await router.setWeights(allOn(stable), { previous: stable, reason: 'canary aborted' })
    onWeight({ canary, stable, weight: 0 })
    log.error(`canary aborted: ${reason}. All traffic back on ${stable}.`)
    return {
      ...base,
      result: 'aborted',
      finalWeight: 0,
      failedCheck: check,
      abortReason: reason,
      durationMs: Date.now() - started,
      detectionMs: Date.now() - pollStart
    }
  }

  /** extra-checks are fixed thresholds: judged when a step is about to advance. */
  async function extraChecks(
    step: number,
    weight: number,
    poll: number
  ): Promise<{ reason: string; check: string } | undefined> {
    for (const x of o.extraChecks) {
      const query = renderQuery('extra-checks', x.query, {
        selector: selectors.canary,
        interval: `${Math.max(1, Math.round(o.intervalMs / 1000))}s`,
        'stable-selector': selectors.stable
      })
      let v: number | undefined
      try {
        v = value(await prometheus.query(query))
      } catch {
        v = undefined
      }
      if (v === undefined || !compare(v, x.op, x.bound)) {
        base.decisions.push({
          step: step + 1,
          weight,
          analysis: poll,
          at: new Date().toISOString(),
          verdict: 'fail',
          measurements: [
            {
              check: x.name,
              query,
              value: v ?? null,
              shown: v === undefined ? 'no data' : String(v),
              bound: `${x.op} ${x.bound}`,
              verdict: 'fail'
            }
          ]
        })
        return {
          reason: `at ${weight}% ${x.name}: ${v ?? 'no data'} (bound ${x.op} ${x.bound})`,
          check: x.name
        }
      }
    }
    return undefined
  }
}

/** `error rate ≤ 0.21 % (SLO 0.1 %), slow share ≤ 3.1 % (5 %)`, from the anytime-valid bounds. */
function describeUpper(st: SequentialState): string {
  const p = (x: number): string => `${Number((x * 100).toPrecision(2))} %`
  return `error rate ≤ ${p(st.errorRate.high)}, slow share ≤ ${p(st.slowFraction.high)}`
}
