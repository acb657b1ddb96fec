import { formatDuration, sleep } from '../core/duration.js'
import { log } from '../core/log.js'
import {
  AnalysisTally,
  judgeAnalysis,
  type Measurement,
  type Reading,
  type SloThresholds,
  type SlotReadings,
  type Verdict
} from '../slo/judge.js'
import type { PrometheusClient } from '../slo/prometheus.js'
import {
  analysisWindow,
  promDuration,
  renderQuery,
  type ExtraCheck,
  type QueryTemplates
} from '../slo/queries.js'
import type { Release, Router, RouterState } from '../traffic/router.js'
import { allOn, formatWeights, split, type Slot } from '../traffic/slots.js'
import { chooseCanary, planCanaryAfterLock, type CanaryChoice } from './canary-plan.js'
import { judgeRate } from '../slo/interval.js'
import { bucketAround } from '../slo/prometheus-meta.js'

export interface CanaryOptions {
  steps: number[]
  stepDurationMs: number
  intervalMs: number
  thresholds: SloThresholds
  queries: QueryTemplates
  canarySelector: string
  stableSelector: string
  extraChecks: ExtraCheck[]
  failureLimit: number
  maxInconclusive: number
  compareWithStable: boolean
  owner: string
  lockTimeoutMs: number
  /**
   * Puts this run's version into the canary slot and gates its health; runs after the lock
   * and the re-plan, never for a resumed canary (it already serves).
   */
  prepare?: (canary: Slot) => Promise<void>
  /** Whether `prepare` deploys a version (deploy-command / image), not only gates health. */
  deploysItsOwnVersion?: boolean
  /**
   * The longest a step may be sampled before the run gives up on it (fail safe: back to
   * stable). Default 5 x stepDurationMs. Bounds the looks the confidence is split over.
   */
  maxStepDurationMs?: number
  /** Histogram `le` values of the latency metric (to state the P95's bucket resolution). */
  latencyBuckets?: (selector: string) => Promise<string[]>
}

/** Analyses a step may take at most (max-step-duration / analysis-interval), at least 1. */
export function maxAnalysesPerStep(
  o: Pick<CanaryOptions, 'maxStepDurationMs' | 'stepDurationMs' | 'intervalMs'>
): number {
  const max = o.maxStepDurationMs ?? 5 * o.stepDurationMs
  return Math.max(1, Math.floor(o.stepDurationMs / o.intervalMs), Math.floor(max / o.intervalMs))
}

/** One analysis, with every measured value behind its verdict (the `decisions` output). */
export interface Decision {
  step: number
  weight: number
  analysis: number
  at: string
  verdict: Verdict
  measurements: Measurement[]
}

export interface CanaryResult {
  result: 'promoted' | 'aborted' | 'dry-run'
  canary: Slot
  stable: Slot
  finalWeight: number
  failedCheck?: string
  abortReason?: string
  decisions: Decision[]
  durationMs: number
  plannedMs: number
  /** Time from the first failing analysis's start to weight 0 (for the record). */
  detectionMs?: number
}

/** Called whenever the canary's weight changes, so a cancel knows what to undo. */
export type WeightListener = (state: { canary: Slot; stable: Slot; weight: number }) => void

async function read(p: PrometheusClient, q: string): Promise<Reading> {
  try {
    return await p.query(q)
  } catch (e) {
    return { kind: 'error', message: (e as Error).message }
  }
}

async function readSlot(
  p: PrometheusClient,
  q: QueryTemplates,
  selector: string,
  interval: string
): Promise<{ readings: SlotReadings; queries: Record<string, string> }> {
  const vars = { selector, interval }
  const queries = {
    requests: renderQuery('request-count-query', q.requests, vars),
    errors: renderQuery('error-rate-query', q.errors, vars),
    p95: renderQuery('latency-query', q.p95, vars)
  }
  const [requests, errors, p95Seconds] = await Promise.all([
    read(p, queries.requests),
    read(p, queries.errors),
    read(p, queries.p95)
  ])
  return { readings: { requests, errors, p95Seconds }, queries }
}

/**
 * Takes the router's lock, then plans from what is there now, never from a read made before
 * (a run that waited for another must not act on the other's canary), and prepares the canary
 * slot. Both analysis loops (interval and sequential) start here. On error the lock is released.
 */
export async function lockAndPlan(
  router: Router,
  o: CanaryOptions,
  initial: RouterState
): Promise<{ choice: CanaryChoice; release: Release }> {
  const release = await router.lock(o.owner, o.lockTimeoutMs)
  try {
    const choice = planCanaryAfterLock(
      initial,
      await router.read(),
      o.steps,
      !!o.deploysItsOwnVersion,
      release.waitedFor
    )
    if (choice.resumed !== undefined) {
      log.warning(
        `recognised an interrupted canary: ${choice.canary} at ${choice.resumed}%; resuming at step ${o.steps[choice.startStep]}%`
      )
    } else if (o.prepare) await o.prepare(choice.canary)
    return { choice, release }
  } catch (error) {
    await release()
    throw error
  }
}

/**
 * The dry run of either analysis loop: which slot would be the canary and the steps it would
 * take, from one read of the router; no lock, no change. The entry point chooses between this
 * and runCanary / runSequentialCanary (the only dry-run check).
 */
export async function previewCanary(
  router: Router,
  o: Pick<CanaryOptions, 'steps' | 'stepDurationMs'>,
  sequential?: { alpha: number; pollIntervalMs: number }
): Promise<CanaryResult> {
  const started = Date.now()
  const plannedMs = o.steps.length * o.stepDurationMs
  const initial = await router.read()
  const choice = chooseCanary(initial, o.steps)
  const how = sequential
    ? `under sequential analysis (alpha ${sequential.alpha}, poll ${formatDuration(sequential.pollIntervalMs)})`
    : `${formatDuration(plannedMs)} at least`
  log.info(
    `dry run: would move ${choice.canary} through ${o.steps.join('% -> ')}% (stable ${choice.stable}) ${how}`
  )
  return {
    canary: choice.canary,
    stable: choice.stable,
    decisions: [],
    plannedMs,
    result: 'dry-run',
    // resumed is set only when the router is split: the canary's weight found there
    finalWeight: choice.resumed ?? 0,
    durationMs: Date.now() - started
  }
}

/**
 * Steps the canary's weight up, holding each step for `stepDurationMs` and analysing every
 * `intervalMs`; a step is passed when its last analysis passed. A failure beyond the limit, or
 * too many inconclusive analyses in a row, puts all traffic back on the stable slot at once.
 * The 100 % step is analysed too, so a regression that shows only at full load is rolled back.
 */
export async function runCanary(
  router: Router,
  prometheus: PrometheusClient,
  o: CanaryOptions,
  onWeight: WeightListener = () => undefined
): Promise<CanaryResult> {
  const started = Date.now()
  const plannedMs = o.steps.length * o.stepDurationMs
  const initial = await router.read()
  const { choice, release } = await lockAndPlan(router, o, initial)
  const { canary, stable } = choice
  const base = { canary, stable, decisions: [] as Decision[], plannedMs }
  const tally = new AnalysisTally(o.failureLimit, o.maxInconclusive)
  const window = analysisWindow(o.intervalMs, await prometheus.scrapeIntervalMs())
  if (window.note) log.warning(window.note)
  const interval = promDuration(window.windowMs)
  const fill = (sel: string): string =>
    sel.replace(/\{\{\s*canary\s*\}\}/g, canary).replace(/\{\{\s*stable\s*\}\}/g, stable)
  const canarySelector = fill(o.canarySelector)
  const stableSelector = fill(o.stableSelector)
  const interval_ = (o.thresholds.errorJudgement ?? 'interval') === 'interval'
  const perStep = maxAnalysesPerStep(o)
  // Bonferroni over every analysis the run may make: a good canary is aborted (or a bad one
  // passed) with probability at most 1 - confidence over the whole run, not per look.
  const looks = perStep * (o.steps.length - choice.startStep)
  const thresholds = { ...o.thresholds, looks: interval_ ? looks : 1 }
  if (interval_ && o.latencyBuckets && o.thresholds.p95Bucket === undefined) {
    try {
      let les = await o.latencyBuckets(canarySelector)
      if (!les.length) les = await o.latencyBuckets(stableSelector)
      thresholds.p95Bucket = bucketAround(les, o.thresholds.maxP95Ms / 1000)
    } catch (e) {
      log.warning(`could not read the latency histogram's buckets: ${(e as Error).message}`)
    }
  }
  if (interval_) {
    const j = judgeRate(
      0,
      1,
      o.thresholds.maxErrorRatePercent,
      thresholds.confidence ?? 0.95,
      looks
    )
    log.info(
      `error-judgement interval: a step passes once the ${Number(((thresholds.confidence ?? 0.95) * 100).toPrecision(3))} % upper bound of its error rate is <= ${o.thresholds.maxErrorRatePercent}% (split over up to ${looks} analyses: ${perStep} per step); with no error that takes ${j.neededAtZero.toLocaleString('en-US')} canary requests in a step, sampled for at most ${formatDuration(perStep * o.intervalMs)}`
    )
  } else {
    log.warning(
      'error-judgement point: the observed error rate is compared with the SLO, no bound is shown (a pass on few requests says little)'
    )
  }
  try {
    for (let i = choice.startStep; i < o.steps.length; i++) {
      const weight = o.steps[i]
      // Announced before the change, so a cancel during it puts traffic back on stable.
      onWeight({ canary, stable, weight })
      await router.setWeights(weight === 100 ? allOn(canary) : split(canary, weight), {
        previous: stable,
        reason: `canary step ${weight}%`
      })
      log.info(
        `step ${i + 1}/${o.steps.length}: ${canary} at ${weight}% (${formatWeights(weight === 100 ? allOn(canary) : split(canary, weight))})`
      )
      const stepStart = Date.now()
      const minAnalyses = Math.max(1, Math.floor(o.stepDurationMs / o.intervalMs))
      let analysis = 0
      let last: Verdict = 'inconclusive'
      // Hold for the step's duration, then go on analysing until one passes or the run aborts.
      while (analysis < minAnalyses || last !== 'pass') {
        const analysisStart = Date.now()
        await sleep(Math.max(0, stepStart + (analysis + 1) * o.intervalMs - Date.now()))
        analysis++
        // interval: the step so far (a growing sample, its looks paid for above); point: the
        // last window only, as before.
        const range = interval_
          ? promDuration(Math.max(window.windowMs, Date.now() - stepStart))
          : interval
        const c = await readSlot(prometheus, o.queries, canarySelector, range)
        const s =
          o.compareWithStable && weight < 100
            ? await readSlot(prometheus, o.queries, stableSelector, range)
            : undefined
        const extras = await Promise.all(
          o.extraChecks.map(async (x) => {
            const query = renderQuery('extra-checks', x.query, {
              selector: canarySelector,
              interval: range,
              'stable-selector': stableSelector
            })
            return {
              name: x.name,
              query,
              op: x.op,
              bound: x.bound,
              reading: await read(prometheus, query)
            }
          })
        )
        const judged = judgeAnalysis(c.readings, s?.readings, extras, thresholds, c.queries)
        last = judged.verdict
        base.decisions.push({
          step: i + 1,
          weight,
          analysis,
          at: new Date().toISOString(),
          verdict: judged.verdict,
          measurements: judged.measurements
        })
        log.info(
          `  analysis ${analysis} at ${weight}%: ${judged.verdict.toUpperCase()} — ${judged.measurements.map((m) => `${m.check} ${m.shown}`).join('; ')}`
        )
        // Too few samples for the bound is not "no data": keep sampling the step, up to its limit.
        const abort = judged.needsMore
          ? analysis >= perStep
            ? `inconclusive after ${analysis} analyses (${formatDuration(Date.now() - stepStart)}, max-step-duration): not enough evidence to pass, so not promoted`
            : undefined
          : analysis >= perStep && judged.verdict !== 'pass'
            ? `no passing analysis in ${analysis} analyses (${formatDuration(Date.now() - stepStart)}, max-step-duration)`
            : tally.record(judged.verdict)
        if (judged.needsMore && !abort && analysis >= minAnalyses) {
          const why = judged.measurements.find((m) => m.needsMore)
          log.info(`  keeps sampling the step: ${why ? `${why.check} ${why.shown}` : ''}`)
        }
        if (abort) {
          await router.setWeights(allOn(stable), { previous: stable, reason: 'canary aborted' })
          onWeight({ canary, stable, weight: 0 })
          const culprit = judged.measurements.find(
            (m) => m.verdict === judged.verdict && m.verdict !== 'pass'
          )
          const reason = `${abort}; at ${weight}% ${culprit ? `${culprit.check}: ${culprit.shown} (bound ${culprit.bound})` : ''}`
          log.error(`canary aborted: ${reason}. All traffic back on ${stable}.`)
          return {
            ...base,
            result: 'aborted',
            finalWeight: 0,
            failedCheck: culprit?.check,
            abortReason: reason,
            durationMs: Date.now() - started,
            detectionMs: Date.now() - analysisStart
          }
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
}

/** Whatever broke (router, bug), the safe state is the stable slot; both analysis loops end here. */
export async function backToStableAfterError(
  router: Router,
  canary: Slot,
  stable: Slot,
  onWeight: WeightListener
): Promise<void> {
  try {
    await router.setWeights(allOn(stable), { previous: stable, reason: 'canary error' })
    onWeight({ canary, stable, weight: 0 })
    log.error(`canary stopped by an error; all traffic back on ${stable}`)
  } catch (undo) {
    log.error(`could not put traffic back on ${stable}: ${(undo as Error).message}`)
  }
}
