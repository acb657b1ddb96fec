import { formatDuration } from '../core/duration.js'
import { GateError, ToolError } from '../core/errors.js'
import { runCommand, formatCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import {
  describeProbe,
  waitHealthy,
  type HealthGateOptions,
  type HealthGateResult
} from '../probe/http.js'
import { emptySample, mergeSamples, sampleTraffic, type SampleResult } from '../probe/sampler.js'
import { failuresThatFail } from '../slo/interval.js'
import type { ErrorJudgement } from '../slo/judge.js'
import { judgeVerification, type VerificationVerdict } from './verification.js'
import {
  combinedVerdict,
  prometheusTrafficReader,
  verifyTraffic,
  type TrafficReader,
  type TrafficVerdict,
  type TrafficVerifyOptions
} from './traffic-verification.js'
import type { Verdict } from '../slo/judge.js'
import { waitForSlot } from '../probe/switched.js'
import { failedReleaseIdle, type Router, type RouterState } from '../traffic/router.js'
import { RoutersDisagree } from '../traffic/fleet.js'
import {
  allOn,
  formatWeights,
  otherSlot,
  placement,
  sameWeights,
  type Slot,
  type Weights
} from '../traffic/slots.js'
import { planSwitch, type SwitchPlan } from './plan.js'
import { runSwitchHook, type SwitchHooks } from './switch-hooks.js'

export interface VerifyOptions {
  url: string
  durationMs: number
  ratePerSecond: number
  maxErrorRatePercent: number
  maxP95Ms: number
  timeoutMs: number
  /** Response header naming the slot that answered: the switch is done once it says the target. */
  slotHeader?: string
  /** Default `interval` (see src/release/verification.ts). */
  judgement?: ErrorJudgement
  /**
   * interval: the sample grows by verify-duration at a time until it is decisive or this much
   * was sampled (default 10 x durationMs); the confidence is split over those looks.
   */
  maxDurationMs?: number
  /** Overall one-sided confidence (default 0.95). */
  confidence?: number
  /** Also judge the new slot's real traffic from Prometheus (src/release/traffic-verification.ts). */
  traffic?: TrafficVerifyOptions
  /** How the traffic is read (default: the Prometheus of `traffic`; a fake in tests). */
  trafficReader?: TrafficReader
}

export interface BlueGreenOptions {
  mode: 'deploy' | 'rollback'
  target?: Slot
  autoRollback: boolean
  owner: string
  lockTimeoutMs: number
  /** Puts the new version into the idle slot (VM / compose setups). */
  deployCommand?: string[]
  /** Kubernetes: image to set on the idle Deployment before the health gate. */
  image?: string
  rolloutTimeoutMs?: number
  healthUrls: Partial<Record<Slot, string>>
  health: HealthGateOptions
  /** Health gate before a rollback too (default: on; a rollback into a dead slot is an outage). */
  healthOnRollback?: boolean
  verify?: VerifyOptions
  /** pre-switch-command / post-switch-command (src/release/switch-hooks.ts). */
  hooks?: SwitchHooks
}

export type Outcome = 'switched' | 'noop' | 'dry-run' | 'rolled-back' | 'failed'

export interface BlueGreenResult {
  plan?: SwitchPlan
  outcome: Outcome
  liveSlot?: Slot
  previousSlot?: Slot
  switched: boolean
  rolledBack: boolean
  switchMs?: number
  health?: HealthGateResult
  verify?: SampleResult
  /** The verdict of the probe's sample with its bounds (pass / fail / inconclusive). */
  verification?: VerificationVerdict
  /** The verdict of the new slot's real traffic read from Prometheus, when configured. */
  traffic?: TrafficVerdict
  /** Probe and real traffic together: pass only when every configured judgement passed. */
  verdict?: Verdict
  /** What was done about traffic when it failed: "unchanged", "rolled back to blue", ... */
  trafficAfterFailure?: string
  error?: Error
}

/** A router that can be told to roll out an image in a slot (Kubernetes). */
interface SlotPreparer {
  prepareSlot(slot: Slot, image: string, timeoutMs: number): Promise<void>
}

function canPrepare(router: Router): router is Router & SlotPreparer {
  return typeof (router as Partial<SlotPreparer>).prepareSlot === 'function'
}

export function liveSlotOf(state: RouterState): { live?: Slot; previous?: Slot } {
  const where = placement(state.weights, state.previous)
  if (where.kind === 'single') {
    return {
      live: where.live,
      previous: failedReleaseIdle(state, where.live)
        ? undefined
        : state.previous && state.previous !== where.live
          ? state.previous
          : otherSlot(where.live)
    }
  }
  if (where.kind === 'split') return { live: where.stable, previous: where.canary }
  return { previous: state.previous }
}

/** Reads the router and plans the switch, without the lock; logs the plan. */
async function planFromFirstRead(
  router: Router,
  options: BlueGreenOptions
): Promise<{ first: FleetState; plan: SwitchPlan }> {
  const first = await readForPlan(router, options)
  const plan = planFor(options, first)
  log.info(`${router.name}: ${formatWeights(first.weights)}; plan: ${plan.explanation}`)
  if (plan.recovering)
    log.warning(`recognised: ${plan.recovering}; this run will ${plan.explanation}`)
  return { first, plan }
}

/**
 * The dry run: the plan runBlueGreen would start from, and the slots as they are; no lock,
 * no change. The entry point chooses between this and runBlueGreen (the only dry-run check).
 */
export async function previewBlueGreen(
  router: Router,
  options: BlueGreenOptions
): Promise<BlueGreenResult> {
  const { first, plan } = await planFromFirstRead(router, options)
  return { plan, outcome: 'dry-run', ...slots(first), switched: false, rolledBack: false }
}

/**
 * Plan -> lock -> plan again -> (deploy command) -> health gate -> switch -> verify -> a failed
 * verification rolls back (mode deploy with auto-rollback only: a rollback is never reversed).
 * Returns a result in every case (for outputs and the summary); `error` is set on failure.
 * `onApplied` lets the caller know when traffic moved (so a cancel can put it back).
 */
export async function runBlueGreen(
  router: Router,
  options: BlueGreenOptions,
  onApplied: (before: Weights | undefined, movedTo?: Slot) => void = () => undefined
): Promise<BlueGreenResult> {
  let { plan } = await planFromFirstRead(router, options)

  const release = await router.lock(options.owner, options.lockTimeoutMs)
  const result: BlueGreenResult = { plan, outcome: 'failed', switched: false, rolledBack: false }
  let before: Weights | undefined
  try {
    // Another run may have changed things while this one waited for the lock.
    const current = await readForPlan(router, options)
    before = current.weights
    plan = planFor(options, current)
    result.plan = plan
    if (plan.noop) {
      Object.assign(result, { outcome: 'noop', ...slots(current) })
      log.info(plan.explanation)
      return result
    }
    await prepareSlot(router, plan.to, options)
    const hookEnv = { mode: options.mode, slot: plan.to, previous: plan.from }
    if (options.hooks?.preSwitch) {
      const failed = await runSwitchHook('pre-switch-command', options.hooks.preSwitch, hookEnv)
      if (failed)
        throw new ToolError(
          `${failed}. No switch: traffic stays on ${formatWeights(current.weights)}.`
        )
    }
    await gateSlot(router, plan, options, result, current)
    // Armed before the change starts: a cancel during it (nginx: between the rename and the
    // reload) puts the old weights back, so file and running config cannot disagree.
    onApplied(current.weights, plan.to)
    const started = performance.now()
    // A rollback undoes the release it leaves: recorded like an undone release (previous = the
    // slot it returns to), so a second rollback (two dispatched together, a re-run) is refused
    // instead of sending users back to it; target-slot still chooses that slot by name.
    await router.setWeights(plan.after, {
      previous: options.mode === 'rollback' ? plan.to : (plan.from ?? otherSlot(plan.to)),
      reason: options.mode
    })
    const switchedAt = performance.now()
    result.switchMs = Math.round(switchedAt - started)
    result.switched = true
    log.info(`switched: all traffic on ${plan.to} (${result.switchMs} ms)`)
    Object.assign(result, { liveSlot: plan.to, previousSlot: plan.from ?? otherSlot(plan.to) })

    // A failed verification and a failed post-switch command follow the same rules.
    const judge = async (what: string, breach: string | undefined): Promise<void> => {
      const next = afterVerification(options.mode, options.autoRollback, breach)
      if (next === 'roll back') {
        // plan.to now holds the release that failed: record that there is nothing to roll back to.
        await router.setWeights(current.weights, {
          previous: plan.from ?? plan.to,
          reason: 'automatic rollback'
        })
        result.rolledBack = true
        result.outcome = 'rolled-back'
        throw new GateError(
          `${what} after the switch to ${plan.to}: ${breach}. Rolled back: ${formatWeights(current.weights)}.`
        )
      }
      if (next === 'leave') {
        throw new GateError(
          `${what} after the switch to ${plan.to}: ${breach}. ` +
            (options.mode === 'rollback'
              ? `This was a rollback, so it is not reversed (that would send users back to the release being rolled away from): traffic stays on ${plan.to}.`
              : `auto-rollback is false, so traffic stays on ${plan.to}.`)
        )
      }
    }
    if (options.verify) {
      const notInEffect = await waitSwitched(options.verify, plan.to, options.health)
      if (!notInEffect) {
        const v = await verify(options.verify, plan.to)
        result.verify = v.sample
        result.verification = v.verdict
      }
      const probeBreach =
        notInEffect ?? verifyBreach(result.verify!, options.verify, result.verification)
      // Real traffic is read only after a passing probe: a broken smoke test is rolled back at once.
      if (!probeBreach && options.verify.traffic) {
        result.traffic = await verifyTraffic(
          options.verify.trafficReader ?? prometheusTrafficReader(options.verify.traffic),
          options.verify.traffic,
          {
            maxErrorRatePercent: options.verify.maxErrorRatePercent,
            maxP95Ms: options.verify.maxP95Ms,
            judgement: options.verify.judgement ?? 'interval',
            confidence: options.verify.confidence ?? 0.95,
            probeRequests: result.verify?.total ?? 0
          },
          {
            durationMs: options.verify.durationMs,
            maxDurationMs: options.verify.maxDurationMs ?? 10 * options.verify.durationMs
          },
          plan.to,
          switchedAt
        )
      }
      result.verdict = notInEffect
        ? 'fail'
        : combinedVerdict(result.verification?.verdict, result.traffic?.verdict)
      const trafficBreach =
        result.traffic && result.traffic.verdict !== 'pass'
          ? `real traffic from Prometheus: ${result.traffic.why ?? result.traffic.verdict}`
          : undefined
      // An inconclusive verification is never a verified switch: it is undone like a failure.
      await judge(
        result.verdict === 'inconclusive'
          ? 'verification inconclusive (not verified)'
          : 'verification failed',
        probeBreach ?? trafficBreach
      )
    }
    if (options.hooks?.postSwitch) {
      await judge(
        'post-switch-command failed',
        await runSwitchHook('post-switch-command', options.hooks.postSwitch, hookEnv)
      )
    }
    onApplied(undefined)
    result.outcome = 'switched'
    return result
  } catch (error) {
    result.error = error as Error
    await reportWhatIsThere(router, result, before)
    return result
  } finally {
    await release()
  }
}

/**
 * The one failure policy: whatever failed, read the router again and report what is there,
 * never what this run believes it did.
 */
async function reportWhatIsThere(
  router: Router,
  result: BlueGreenResult,
  before: Weights | undefined
): Promise<void> {
  try {
    const now = await router.read()
    Object.assign(result, slots(now))
    result.trafficAfterFailure = describeTrafficNow(before, now.weights, result.rolledBack)
    if (before && !sameWeights(before, now.weights) && !result.rolledBack) result.switched = true
  } catch (readError) {
    result.trafficAfterFailure = `unknown: the router could not be read after the failure (${(readError as Error).message})`
  }
}

/** Pure: how the traffic found after a failure compares with the traffic before the run. */
export function describeTrafficNow(
  before: Weights | undefined,
  now: Weights,
  rolledBack: boolean
): string {
  if (!before) return `${formatWeights(now)} (read after the failure)`
  if (sameWeights(before, now))
    return rolledBack ? `rolled back to ${formatWeights(now)}` : `unchanged (${formatWeights(now)})`
  return `moved: ${formatWeights(before)} -> ${formatWeights(now)} (read after the failure)`
}

/** Pure: what a failed (or passed) verification leads to. A rollback is never reversed. */
export function afterVerification(
  mode: 'deploy' | 'rollback',
  autoRollback: boolean,
  breach: string | undefined
): 'done' | 'roll back' | 'leave' {
  if (!breach) return 'done'
  return mode === 'deploy' && autoRollback ? 'roll back' : 'leave'
}

/**
 * The slot about to take traffic must be alive. A rollback (nothing was just deployed, so the
 * router's view is current) first asks the router (HAProxy's check state, nginx: connections to
 * the slot's servers); right after a deploy command the router's checks may lag, so a deploy
 * relies on the HTTP health gate, which also runs for rollbacks unless turned off.
 */
async function gateSlot(
  router: Router,
  plan: SwitchPlan,
  options: BlueGreenOptions,
  result: BlueGreenResult,
  current: RouterState
): Promise<void> {
  const known = options.mode === 'rollback' ? await router.slotHealth?.(plan.to) : undefined
  if (known && !known.up) {
    throw new GateError(
      `slot ${plan.to} is down according to the router (${known.detail}). No switch: traffic stays on ${formatWeights(current.weights)}.`
    )
  }
  const gate = options.mode === 'deploy' || options.healthOnRollback !== false
  if (!gate) return
  if (!options.healthUrls[plan.to]) {
    if (options.mode === 'deploy') throw new ToolError(`no health URL for slot ${plan.to}`)
    log.warning(
      `no health-url-${plan.to}: the rollback target was checked only through the router (${known?.detail ?? 'which cannot tell'})`
    )
    return
  }
  result.health = await healthGate(plan.to, options)
  if (!result.health.passed) {
    throw new GateError(
      `slot ${plan.to} is not healthy: ${result.health.successes}/${options.health.consecutive} consecutive ` +
        `successes after ${result.health.attempts} probes in ${formatDuration(result.health.elapsedMs)} ` +
        `(last: ${describeProbe(result.health.last)}). No switch: traffic stays on ${plan.from ?? 'no slot'}.`
    )
  }
}

/** A state that says the load balancers disagree (the weights are those of the first one). */
interface FleetState extends RouterState {
  disagreement?: string
}

/**
 * Reads the router for planning. A fleet whose members disagree is an error, except for the
 * remedy that error names: `mode: rollback` with `target-slot`, which brings all into line.
 */
async function readForPlan(router: Router, options: BlueGreenOptions): Promise<FleetState> {
  try {
    return await router.read()
  } catch (error) {
    if (!(error instanceof RoutersDisagree) || options.mode !== 'rollback' || !options.target)
      throw error
    const first = error.states[0]
    const seen = error.states.map((s) => formatWeights(s.weights)).join(' | ')
    return { ...first, previous: undefined, disagreement: seen }
  }
}

function planFor(options: BlueGreenOptions, state: FleetState): SwitchPlan {
  if (!state.disagreement) return planSwitch(options.mode, state, options.target)
  const to = options.target!
  return {
    mode: options.mode,
    before: state.weights,
    after: allOn(to),
    from: undefined,
    to,
    noop: false,
    recovering: `the load balancers disagree (${state.disagreement})`,
    explanation: `bring every load balancer to all traffic on ${to}`
  }
}

function slots(state: RouterState): { liveSlot?: Slot; previousSlot?: Slot } {
  const s = liveSlotOf(state)
  return { liveSlot: s.live, previousSlot: s.previous }
}

/** Puts the new version into `slot`: Kubernetes image rollout and/or the deploy command. */
export async function prepareSlot(
  router: Router,
  slot: Slot,
  options: Pick<BlueGreenOptions, 'image' | 'rolloutTimeoutMs' | 'deployCommand' | 'mode'>
): Promise<void> {
  if (options.image) {
    if (!canPrepare(router))
      throw new ToolError('input `image` only applies to router `kubernetes`')
    await log.group(`Roll out ${options.image} in slot ${slot}`, () =>
      router.prepareSlot(slot, options.image!, options.rolloutTimeoutMs ?? 300_000)
    )
  }
  if (options.deployCommand) {
    const argv = options.deployCommand
    await log.group(`Deploy command for slot ${slot}`, async () => {
      const result = await runCommand(argv, {
        env: { OPS_SLOT: slot, OPS_TARGET_SLOT: slot, OPS_MODE: options.mode },
        timeoutMs: 30 * 60_000
      })
      if (result.stdout.trim()) log.info(result.stdout.trimEnd())
      if (result.code !== 0) {
        throw new ToolError(
          `deploy-command \`${formatCommand(argv)}\` exited with ${result.code}; no switch, traffic unchanged: ` +
            result.stderr.trim().split('\n').slice(-5).join(' | ')
        )
      }
    })
  }
}

/** N consecutive healthy probes of the slot, directly (not through the router). */
export async function healthGate(
  slot: Slot,
  options: Pick<BlueGreenOptions, 'healthUrls' | 'health'>
): Promise<HealthGateResult> {
  const url = options.healthUrls[slot]
  if (!url) throw new ToolError(`no health URL for slot ${slot}`)
  return log.group(`Health gate: ${url}`, async () => {
    const r = await waitHealthy(url, options.health)
    log.info(
      `${r.passed ? 'healthy' : 'NOT healthy'}: ${r.successes} consecutive of ${options.health.consecutive} needed, ${r.attempts} probes, last ${describeProbe(r.last)}`
    )
    return r
  })
}

/** Waits until the verify URL answers from the target slot; returns why not, if it never did. */
async function waitSwitched(
  v: VerifyOptions,
  slot: Slot,
  health: HealthGateOptions
): Promise<string | undefined> {
  if (!v.slotHeader) return undefined
  const r = await waitForSlot(v.url, slot, {
    header: v.slotHeader,
    consecutive: health.consecutive,
    intervalMs: Math.min(health.intervalMs, 200),
    timeoutMs: health.timeoutMs,
    requestTimeoutMs: v.timeoutMs
  })
  if (r.done) {
    log.info(
      `switch in effect: ${health.consecutive} answers in a row from ${slot} after ${r.requests} requests in ${formatDuration(r.elapsedMs)} (${r.notYet} not switched yet)`
    )
    return undefined
  }
  return `the switch did not take effect: no ${health.consecutive} answers in a row from ${slot} (header ${v.slotHeader}) within ${formatDuration(health.timeoutMs)}; last answer: ${r.last ?? 'none'}`
}

/**
 * Samples through the router after the switch. interval: in looks of verify-duration each,
 * until the bounds decide or verify-max-duration is sampled; each look is judged at
 * alpha / looks (Bonferroni), so stopping at the first decisive one keeps the overall
 * confidence. A look stops early once its failures alone make it fail (the same verdict its end
 * would give: the lower bound only grows with failures), sparing users a broken slot.
 */
async function verify(
  v: VerifyOptions,
  slot: Slot
): Promise<{ sample: SampleResult; verdict: VerificationVerdict }> {
  const judgement = v.judgement ?? 'interval'
  const confidence = v.confidence ?? 0.95
  const looks = verifyLooks(v)
  const rule = {
    maxErrorRatePercent: v.maxErrorRatePercent,
    maxP95Ms: v.maxP95Ms,
    judgement,
    confidence
  }
  const perLook = Math.max(1, Math.round((v.durationMs / 1000) * v.ratePerSecond))
  const title =
    judgement === 'interval'
      ? `Verify through ${v.url}: ${formatDuration(v.durationMs)} per look, up to ${looks} looks (${formatDuration(looks * v.durationMs)})`
      : `Verify through ${v.url} for ${formatDuration(v.durationMs)}`
  return log.group(title, async () => {
    let sample = emptySample()
    let verdict: VerificationVerdict = judgeVerification(sample, rule, looks)
    for (let look = 1; look <= looks; look++) {
      const failAt =
        judgement === 'interval'
          ? failuresThatFail(look * perLook, v.maxErrorRatePercent, confidence, looks)
          : Math.floor((v.maxErrorRatePercent / 100) * perLook) + 1
      const r = await sampleTraffic(v.url, {
        durationMs: v.durationMs,
        ratePerSecond: v.ratePerSecond,
        timeoutMs: v.timeoutMs,
        stopAfterFailures: failAt === undefined ? undefined : Math.max(1, failAt - sample.failed),
        expectSlot: v.slotHeader ? { header: v.slotHeader, slot } : undefined
      })
      sample = mergeSamples(sample, r)
      verdict = judgeVerification(sample, rule, looks)
      log.info(
        `look ${look}/${looks}: ${sample.total} requests, ${sample.failed} failed, p95 ${Math.round(sample.p95Ms)} ms: ${verdict.verdict.toUpperCase()}`
      )
      log.info(`  errors: ${verdict.errors.shown}`)
      log.info(`  p95: ${verdict.p95.shown}`)
      if (verdict.verdict !== 'inconclusive' || r.stoppedEarly || r.total === 0) break
    }
    if (sample.notSwitched) {
      log.warning(
        `${sample.notSwitched} answers still came from the old slot (an old worker on a reused connection): not judged, the new slot is`
      )
    }
    if (sample.resetsRetried) {
      log.warning(
        `${sample.resetsRetried} requests met a reused keep-alive connection closed by the router (an old worker shutting down) and were retried once; clients that do not retry saw an error`
      )
    }
    return { sample, verdict }
  })
}

/** Looks of verify-duration that fit in verify-max-duration (1 for the point rule). */
export function verifyLooks(v: VerifyOptions): number {
  if ((v.judgement ?? 'interval') === 'point') return 1
  return Math.max(1, Math.floor((v.maxDurationMs ?? 10 * v.durationMs) / v.durationMs))
}

export function verifyBreach(
  r: SampleResult,
  v: VerifyOptions,
  verdict: VerificationVerdict = judgeVerification(
    r,
    {
      maxErrorRatePercent: v.maxErrorRatePercent,
      maxP95Ms: v.maxP95Ms,
      judgement: v.judgement ?? 'interval',
      confidence: v.confidence ?? 0.95
    },
    verifyLooks(v)
  )
): string | undefined {
  if (verdict.verdict === 'pass') return undefined
  const why = describeFailures(r.outcomes)
  return (verdict.why ?? verdict.verdict) + (why ? ` (failed requests: ${why})` : '')
}

/** Pure: `HTTP 503 x12, ECONNRESET x2`, most frequent first, at most `cap` kinds. */
export function describeFailures(outcomes: Record<string, number>, cap = 5): string {
  const failing = Object.entries(outcomes)
    .filter(([k]) => !/^2\d\d$/.test(k))
    .sort((a, b) => b[1] - a[1])
  const shown = failing
    .slice(0, cap)
    .map(([k, n]) => `${/^\d{3}$/.test(k) ? `HTTP ${k}` : k} x${n}`)
  if (failing.length > cap) shown.push(`${failing.length - cap} more kinds`)
  return shown.join(', ')
}
