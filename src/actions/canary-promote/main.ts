import type { ActionIO } from '../../core/action.js'
import { withCancelCleanup } from '../../core/cancel.js'
import { describeFailure, GateError } from '../../core/errors.js'
import { log } from '../../core/log.js'
import { DeploymentRecord } from '../../github/deployments.js'
import { healthGate, prepareSlot } from '../../release/bluegreen.js'
import { chooseCanary, runCanary, type CanaryResult } from '../../release/canary.js'
import { planSwitch } from '../../release/plan.js'
import { runSequentialCanary, sequentialSettings } from '../../release/canary-sequential.js'
import { PrometheusClient } from '../../slo/prometheus.js'
import { openRouter } from '../../traffic/config.js'
import type { Router } from '../../traffic/router.js'
import { allOn, formatWeights, placement, type Slot } from '../../traffic/slots.js'
import { readCanaryInputs, type CanaryInputs } from './inputs.js'
import { canarySummary, manualSummary } from './summary.js'

/** State for the post step: if main dies with the canary carrying traffic, post puts it back. */
const STATE_ACTIVE = 'canary-active'
const STATE_STABLE = 'canary-stable'

export async function run(io: ActionIO): Promise<void> {
  const inputs = readCanaryInputs(io.inputs)
  const { router, close } = openRouter(inputs.router)
  try {
    if (inputs.mode !== 'run') return await manual(io, inputs, router)
    const record =
      inputs.github && !inputs.canary.dryRun
        ? new DeploymentRecord({
            ...inputs.github,
            description: 'canary via ops-actions canary-promote'
          })
        : undefined
    await record?.start()
    const prometheus = new PrometheusClient(inputs.prometheus!)
    if (!inputs.canary.dryRun) await prepareCanary(router, inputs)

    let live: { stable: Slot; weight: number } | undefined
    const result: CanaryResult = await withCancelCleanup(
      async (signal) => {
        if (live && live.weight > 0) {
          await router.setWeights(allOn(live.stable), {
            previous: live.stable === 'blue' ? 'green' : 'blue',
            reason: `cancelled (${signal})`
          })
          io.saveState(STATE_ACTIVE, 'false')
          log.warning(
            `cancelled (${signal}): canary weight set to 0, all traffic on ${live.stable}`
          )
        }
        await record?.finish(false, `cancelled (${signal})`)
      },
      async () => {
        const listener = (s: { stable: Slot; weight: number }): void => {
          live = { stable: s.stable, weight: s.weight }
          io.saveState(STATE_STABLE, s.stable)
          io.saveState(STATE_ACTIVE, s.weight > 0 ? 'true' : 'false')
        }
        if (inputs.analysis !== 'sequential')
          return runCanary(router, prometheus, inputs.canary, listener)
        const settings = await sequentialSettings(inputs.sequential, inputs.prometheus!)
        return runSequentialCanary(router, prometheus, inputs.canary, settings, listener)
      }
    )
    io.saveState(STATE_ACTIVE, 'false')
    io.setOutput('result', result.result)
    io.setOutput('final-weight', result.finalWeight)
    io.setOutput('failed-check', result.failedCheck ?? '')
    io.setOutput('decisions', JSON.stringify(result.decisions))
    io.setOutput('duration-s', (result.durationMs / 1000).toFixed(1))
    io.setOutput('canary-slot', result.canary)
    io.setOutput('stable-slot', result.stable)
    await io.writeSummary(canarySummary(router.name, inputs, result))
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

/** Deploy command / image, then the health gate, before the canary gets any traffic. */
async function prepareCanary(router: Router, inputs: CanaryInputs): Promise<void> {
  const state = await router.read()
  const { canary } = chooseCanary(state, inputs.canary.steps)
  if (placement(state.weights, state.previous).kind === 'split') return // resuming: already serving
  await prepareSlot(router, canary, { ...inputs.prepare, mode: 'deploy' })
  if (inputs.prepare.healthUrls[canary]) {
    const gate = await healthGate(canary, inputs.prepare)
    if (!gate.passed) {
      throw new GateError(
        `slot ${canary} is not healthy (${gate.successes}/${inputs.prepare.health.consecutive} consecutive successes); the canary did not start, traffic unchanged`
      )
    }
  }
}

/** abort / promote / status: one immediate change (or none), no analysis. */
async function manual(io: ActionIO, inputs: CanaryInputs, router: Router): Promise<void> {
  const state = await router.read()
  const where = placement(state.weights, state.previous)
  let after = state.weights
  let explanation: string
  if (inputs.mode === 'status') {
    explanation =
      where.kind === 'split'
        ? `canary ${where.canary} at ${where.canaryWeight}%`
        : where.kind === 'single'
          ? `${where.live} live, no canary`
          : 'no slot live'
  } else if (inputs.mode === 'abort') {
    const plan = planSwitch('rollback', state)
    after = plan.after
    explanation = plan.noop ? plan.explanation : `abort: ${plan.explanation}`
  } else {
    if (where.kind !== 'split') {
      explanation = 'no canary in progress; nothing to promote'
    } else {
      after = allOn(where.canary)
      explanation = `promote ${where.canary} to 100% without further analysis`
    }
  }
  const changed = after.blue !== state.weights.blue || after.green !== state.weights.green
  if (changed && !inputs.canary.dryRun) {
    const release = await router.lock(inputs.canary.owner, inputs.canary.lockTimeoutMs)
    try {
      const live = placement(state.weights, state.previous)
      const previous =
        live.kind === 'single' ? live.live : live.kind === 'split' ? live.stable : 'blue'
      await router.setWeights(after, { previous, reason: inputs.mode })
    } finally {
      await release()
    }
  }
  log.info(
    `${router.name}: ${formatWeights(state.weights)} -> ${formatWeights(after)}: ${explanation}`
  )
  const now = placement(after)
  io.setOutput(
    'result',
    inputs.mode === 'abort' ? 'aborted' : inputs.mode === 'promote' && changed ? 'promoted' : ''
  )
  io.setOutput(
    'final-weight',
    now.kind === 'split' ? now.canaryWeight : now.kind === 'single' ? 100 : 0
  )
  io.setOutput('failed-check', '')
  io.setOutput('decisions', '[]')
  io.setOutput('duration-s', '0')
  await io.writeSummary(
    manualSummary(inputs.mode, router.name, state.weights, after, explanation, inputs.canary.dryRun)
  )
}

/** The post step: runs after a cancelled or killed main; puts traffic back if the canary was live. */
export async function post(io: ActionIO): Promise<void> {
  if (io.getState(STATE_ACTIVE) !== 'true') return
  const stable = io.getState(STATE_STABLE) as Slot
  const inputs = readCanaryInputs(io.inputs)
  const { router, close } = openRouter(inputs.router)
  try {
    await router.setWeights(allOn(stable), {
      previous: stable === 'blue' ? 'green' : 'blue',
      reason: 'post step after an unfinished canary'
    })
    log.warning(`the canary did not finish: canary weight set to 0, all traffic on ${stable}`)
  } catch (error) {
    log.error(`could not put traffic back on ${stable}: ${describeFailure(error)}`)
  } finally {
    await close()
  }
}
