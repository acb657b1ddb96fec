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
import { sampleTraffic, type SampleResult } from '../probe/sampler.js'
import type { Router, RouterState } from '../traffic/router.js'
import { formatWeights, otherSlot, placement, type Slot, type Weights } from '../traffic/slots.js'
import { planSwitch, type SwitchPlan } from './plan.js'

export interface VerifyOptions {
  url: string
  durationMs: number
  ratePerSecond: number
  maxErrorRatePercent: number
  maxP95Ms: number
  timeoutMs: number
}

export interface BlueGreenOptions {
  mode: 'deploy' | 'rollback'
  target?: Slot
  dryRun: boolean
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
  /** Health gate before a rollback too (default: skipped, a rollback must be fast). */
  healthOnRollback?: boolean
  verify?: VerifyOptions
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
      previous:
        state.previous && state.previous !== where.live ? state.previous : otherSlot(where.live)
    }
  }
  if (where.kind === 'split') return { live: where.stable, previous: where.canary }
  return { previous: state.previous }
}

/**
 * Plan -> lock -> (deploy command) -> health gate -> switch -> verify -> undo on failure.
 * Returns a result in every case (for outputs and the summary); `error` is set on failure.
 * `onApplied` lets the caller know when traffic moved (so a cancel can put it back).
 */
export async function runBlueGreen(
  router: Router,
  options: BlueGreenOptions,
  onApplied: (before: Weights | undefined, movedTo?: Slot) => void = () => undefined
): Promise<BlueGreenResult> {
  const first = await router.read()
  let plan = planSwitch(options.mode, first, options.target)
  log.info(`${router.name}: ${formatWeights(first.weights)}; plan: ${plan.explanation}`)
  if (plan.recovering)
    log.warning(`recognised: ${plan.recovering}; this run will ${plan.explanation}`)
  if (options.dryRun)
    return { plan, outcome: 'dry-run', ...slots(first), switched: false, rolledBack: false }

  const release = await router.lock(options.owner, options.lockTimeoutMs)
  const result: BlueGreenResult = { plan, outcome: 'failed', switched: false, rolledBack: false }
  try {
    // Another run may have changed things while this one waited for the lock.
    const current = await router.read()
    plan = planSwitch(options.mode, current, options.target)
    result.plan = plan
    if (plan.noop) {
      Object.assign(result, { outcome: 'noop', ...slots(current) })
      log.info(plan.explanation)
      return result
    }
    await prepareSlot(router, plan.to, options)
    const gate = options.mode === 'deploy' || options.healthOnRollback
    if (gate) {
      result.health = await healthGate(plan.to, options)
      if (!result.health.passed) {
        result.trafficAfterFailure = `unchanged (${formatWeights(current.weights)})`
        throw new GateError(
          `slot ${plan.to} is not healthy: ${result.health.successes}/${options.health.consecutive} consecutive ` +
            `successes after ${result.health.attempts} probes in ${formatDuration(result.health.elapsedMs)} ` +
            `(last: ${describeProbe(result.health.last)}). No switch: traffic stays on ${plan.from ?? 'no slot'}.`
        )
      }
    }
    const started = performance.now()
    await router.setWeights(plan.after, {
      previous: plan.from ?? otherSlot(plan.to),
      reason: options.mode
    })
    result.switchMs = Math.round(performance.now() - started)
    result.switched = true
    onApplied(current.weights, plan.to)
    log.info(`switched: all traffic on ${plan.to} (${result.switchMs} ms)`)
    Object.assign(result, { liveSlot: plan.to, previousSlot: plan.from ?? otherSlot(plan.to) })

    if (options.verify) {
      result.verify = await verify(options.verify)
      const breach = verifyBreach(result.verify, options.verify)
      if (breach) {
        if (options.autoRollback) {
          await router.setWeights(current.weights, {
            previous: plan.to,
            reason: 'automatic rollback'
          })
          result.rolledBack = true
          result.outcome = 'rolled-back'
          Object.assign(result, slots({ ...current, previous: plan.to }))
          result.trafficAfterFailure = `rolled back to ${formatWeights(current.weights)}`
          throw new GateError(
            `verification failed after the switch to ${plan.to}: ${breach}. Rolled back: ${formatWeights(current.weights)}.`
          )
        }
        result.trafficAfterFailure = `left on ${plan.to} (auto-rollback is off)`
        throw new GateError(
          `verification failed after the switch to ${plan.to}: ${breach}. auto-rollback is false, so traffic stays on ${plan.to}.`
        )
      }
    }
    onApplied(undefined)
    result.outcome = 'switched'
    return result
  } catch (error) {
    result.error = error as Error
    if (!result.trafficAfterFailure) {
      result.trafficAfterFailure = result.switched
        ? `on ${plan.to} (failed after the switch)`
        : 'unchanged'
    }
    return result
  } finally {
    await release()
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

async function verify(v: VerifyOptions): Promise<SampleResult> {
  return log.group(`Verify through ${v.url} for ${formatDuration(v.durationMs)}`, async () => {
    const maxFailures = Math.floor(
      (v.maxErrorRatePercent / 100) * (v.durationMs / 1000) * v.ratePerSecond
    )
    const r = await sampleTraffic(v.url, {
      durationMs: v.durationMs,
      ratePerSecond: v.ratePerSecond,
      timeoutMs: v.timeoutMs,
      // Once more requests failed than the whole window may, the verdict cannot change.
      stopAfterFailures: maxFailures + 1
    })
    log.info(
      `${r.total} requests, ${r.failed} failed (${r.errorRatePercent.toFixed(2)}%), p95 ${Math.round(r.p95Ms)} ms`
    )
    return r
  })
}

export function verifyBreach(r: SampleResult, v: VerifyOptions): string | undefined {
  const problems: string[] = []
  if (r.total === 0) problems.push('no request could be sent')
  if (r.errorRatePercent > v.maxErrorRatePercent) {
    problems.push(
      `error rate ${r.errorRatePercent.toFixed(2)}% (${r.failed}/${r.total}) > ${v.maxErrorRatePercent}%`
    )
  }
  if (r.p95Ms >= v.maxP95Ms) problems.push(`p95 ${Math.round(r.p95Ms)} ms >= ${v.maxP95Ms} ms`)
  return problems.length ? problems.join('; ') : undefined
}
