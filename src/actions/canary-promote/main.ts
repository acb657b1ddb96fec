import type { ActionIO } from '../../core/action.js'
import { withCancelCleanup } from '../../core/cancel.js'
import { describeFailure, GateError } from '../../core/errors.js'
import { log } from '../../core/log.js'
import { DeploymentRecord } from '../../github/deployments.js'
import { healthGate, prepareSlot } from '../../release/bluegreen.js'
import { previewCanary, runCanary, type CanaryResult } from '../../release/canary.js'
import { planManual } from '../../release/canary-plan.js'
import { runSequentialCanary, sequentialSettings } from '../../release/canary-sequential.js'
import { PrometheusClient } from '../../slo/prometheus.js'
import { bucketBounds } from '../../slo/prometheus-meta.js'
import { DEFAULT_QUERIES } from '../../slo/queries.js'
import { openRouter } from '../../traffic/config.js'
import type { Router } from '../../traffic/router.js'
import { allOn, formatWeights, placement, type Slot } from '../../traffic/slots.js'
import { readCanaryInputs, type CanaryInputs } from './inputs.js'
import { canarySummary, manualSummary } from './summary.js'

/** State for the post step: if main dies with the canary carrying traffic, post puts it back. */
const STATE_ACTIVE = 'canary-active'
const STATE_STABLE = 'canary-stable'

export async function run(io: ActionIO): Promise<void> {
  const inputs = readCanaryInputs(io.inputs, io.context)
  const { router, close } = openRouter(inputs.router, io.context)
  try {
    if (inputs.mode !== 'run') return await manual(io, inputs, router)
    const sequential =
      inputs.analysis === 'sequential'
        ? await sequentialSettings(inputs.sequential, inputs.prometheus!)
        : undefined
    if (inputs.dryRun) {
      // The one place a dry run is decided: plan, report, change nothing, record nothing.
      const result = await previewCanary(router, inputs.canary, sequential)
      await report(io, router.name, inputs, result)
      return
    }
    const record = inputs.github
      ? new DeploymentRecord(
          { ...inputs.github, description: 'canary via ops-actions canary-promote' },
          io.context
        )
      : undefined
    await record?.start()
    const prometheus = new PrometheusClient(inputs.prometheus!)
    const options = {
      ...inputs.canary,
      prepare: (canary: Slot) => prepareCanary(router, canary, inputs),
      deploysItsOwnVersion: !!(inputs.prepare.deployCommand || inputs.prepare.image),
      // only the default latency query is known to read this histogram
      latencyBuckets:
        inputs.canary.queries.p95 === DEFAULT_QUERIES.p95
          ? (selector: string) =>
              bucketBounds(
                inputs.prometheus!,
                `http_request_duration_seconds_bucket{ ${selector} }`
              )
          : undefined
    }

    let live: { stable: Slot; weight: number } | undefined
    let cancelling: Promise<void> | undefined
    const result: CanaryResult = await withCancelCleanup(
      (signal) => (cancelling = cancelCleanup(signal)),
      () => {
        const listener = (s: { stable: Slot; weight: number }): void => {
          live = { stable: s.stable, weight: s.weight }
          io.saveState(STATE_STABLE, s.stable)
          io.saveState(STATE_ACTIVE, s.weight > 0 ? 'true' : 'false')
        }
        return sequential
          ? runSequentialCanary(router, prometheus, options, sequential, listener)
          : runCanary(router, prometheus, options, listener)
      }
    ).catch(async (error: unknown) => {
      if (cancelling) await new Promise(() => undefined)
      await reportAfterFailure(io, router)
      throw error
    })
    if (cancelling) {
      // The cancel handler restores stable and exits; this run's result is no longer the truth.
      await cancelling
      await new Promise(() => undefined)
    }
    async function cancelCleanup(signal: string): Promise<void> {
      if (live && live.weight > 0) {
        // The canary slot holds an unfinished release: nothing to roll back to behind stable.
        await router.setWeights(allOn(live.stable), {
          previous: live.stable,
          reason: `cancelled (${signal})`
        })
        io.saveState(STATE_ACTIVE, 'false')
        log.warning(`cancelled (${signal}): canary weight set to 0, all traffic on ${live.stable}`)
      }
      await record?.finish(false, `cancelled (${signal})`)
    }
    io.saveState(STATE_ACTIVE, 'false')
    await report(io, router.name, inputs, result)
    if (result.result === 'aborted') {
      await record?.finish(false, `aborted: ${result.abortReason}`)
      throw new GateError(
        `canary aborted, all traffic back on ${result.stable}: ${result.abortReason}`
      )
    }
    await record?.finish(true, `${result.canary} promoted`)
  } finally {
    await close()
  }
}

/** The outputs and summary of a canary run or its dry run. */
async function report(
  io: ActionIO,
  routerName: string,
  inputs: CanaryInputs,
  result: CanaryResult
): Promise<void> {
  io.setOutput('result', result.result)
  io.setOutput('final-weight', result.finalWeight)
  io.setOutput('failed-check', result.failedCheck ?? '')
  io.setOutput('decisions', JSON.stringify(result.decisions))
  io.setOutput('duration-s', (result.durationMs / 1000).toFixed(1))
  io.setOutput('canary-slot', result.canary)
  io.setOutput('stable-slot', result.stable)
  await io.writeSummary(canarySummary(routerName, inputs, result))
}

/** The one failure policy: read the router again and report what is there. */
async function reportAfterFailure(io: ActionIO, router: Router): Promise<void> {
  try {
    const now = await router.read()
    const where = placement(now.weights, now.previous)
    if (where.kind === 'split') io.setOutput('final-weight', where.canaryWeight)
    log.error(`traffic now (read after the failure): ${formatWeights(now.weights)}`)
  } catch (readError) {
    log.error(`traffic now: unknown, the router could not be read (${describeFailure(readError)})`)
  }
}

/** Deploy command / image, then the health gate, before the canary gets any traffic. */
async function prepareCanary(router: Router, canary: Slot, inputs: CanaryInputs): Promise<void> {
  await prepareSlot(router, canary, { ...inputs.prepare, mode: 'deploy' })
  // The router's view only when nothing was just deployed (its checks may lag a deploy).
  const deployed = !!(inputs.prepare.deployCommand || inputs.prepare.image)
  const known = deployed ? undefined : await router.slotHealth?.(canary)
  if (known && !known.up) {
    throw new GateError(
      `slot ${canary} is down according to the router (${known.detail}); the canary did not start, traffic unchanged`
    )
  }
  if (inputs.prepare.healthUrls[canary]) {
    const gate = await healthGate(canary, inputs.prepare)
    if (!gate.passed) {
      throw new GateError(
        `slot ${canary} is not healthy (${gate.successes}/${inputs.prepare.health.consecutive} consecutive successes); the canary did not start, traffic unchanged`
      )
    }
  }
}

/** abort / promote / status: one immediate change (or none), planned under the lock. */
async function manual(io: ActionIO, inputs: CanaryInputs, router: Router): Promise<void> {
  const mode = inputs.mode as 'abort' | 'promote' | 'status'
  const dry = inputs.dryRun || mode === 'status'
  let state = await router.read()
  let plan = planManual(mode, state)
  if (plan.changed && !dry) {
    const release = await router.lock(inputs.canary.owner, inputs.canary.lockTimeoutMs)
    try {
      state = await router.read()
      plan = planManual(mode, state)
      if (plan.changed) {
        await router.setWeights(plan.after, { previous: plan.previous, reason: mode })
      }
    } finally {
      await release()
    }
  }
  const after = dry ? state.weights : plan.after
  log.info(
    `${router.name}: ${formatWeights(state.weights)} -> ${formatWeights(after)}: ${plan.explanation}`
  )
  const now = placement(after)
  io.setOutput(
    'result',
    mode === 'abort' ? 'aborted' : mode === 'promote' && plan.changed ? 'promoted' : ''
  )
  io.setOutput(
    'final-weight',
    now.kind === 'split' ? now.canaryWeight : now.kind === 'single' ? 100 : 0
  )
  io.setOutput('failed-check', '')
  io.setOutput('decisions', '[]')
  io.setOutput('duration-s', '0')
  await io.writeSummary(
    manualSummary(mode, router.name, state.weights, plan.after, plan.explanation, dry)
  )
}

/** The post step: runs after a cancelled or killed main; puts traffic back if the canary was live. */
export async function post(io: ActionIO): Promise<void> {
  if (io.getState(STATE_ACTIVE) !== 'true') return
  const stable = io.getState(STATE_STABLE) as Slot
  const inputs = readCanaryInputs(io.inputs, io.context)
  const { router, close } = openRouter(inputs.router, io.context)
  try {
    await router.setWeights(allOn(stable), {
      previous: stable,
      reason: 'post step after an unfinished canary'
    })
    log.warning(`the canary did not finish: canary weight set to 0, all traffic on ${stable}`)
  } catch (error) {
    log.error(`could not put traffic back on ${stable}: ${describeFailure(error)}`)
  } finally {
    await close()
  }
}
