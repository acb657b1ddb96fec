import { upperBoundShown } from '../../release/verification.js'
import { percentShown } from '../../slo/interval.js'
import type { ActionIO } from '../../core/action.js'
import { withCancelCleanup } from '../../core/cancel.js'
import { describeFailure } from '../../core/errors.js'
import { log } from '../../core/log.js'
import { DeploymentRecord } from '../../github/deployments.js'
import {
  liveSlotOf,
  previewBlueGreen,
  runBlueGreen,
  type BlueGreenResult
} from '../../release/bluegreen.js'
import { openRouter } from '../../traffic/config.js'
import { formatWeights, placement, type Slot, type Weights } from '../../traffic/slots.js'
import { readDeployInputs } from './inputs.js'
import { blueGreenSummary, statusSummary } from './summary.js'

export async function run(io: ActionIO): Promise<void> {
  const inputs = readDeployInputs(io.inputs, io.context)
  const { router, close } = openRouter(inputs.router, io.context)
  try {
    if (inputs.mode === 'status') {
      const state = await router.read()
      const { live, previous } = liveSlotOf(state)
      log.info(
        `${router.name}: ${formatWeights(state.weights)}; live ${live ?? 'none'}, previous ${previous ?? 'none'}`
      )
      io.setOutput('live-slot', live ?? '')
      io.setOutput('previous-slot', previous ?? '')
      io.setOutput('switched', false)
      io.setOutput('rolled-back', false)
      await io.writeSummary(statusSummary(router.name, state))
      return
    }
    if (inputs.dryRun) {
      // The one place a dry run is decided: plan, report, change nothing, record nothing.
      const result = await previewBlueGreen(router, inputs.release)
      report(io, result, undefined)
      await io.writeSummary(blueGreenSummary(router.name, inputs, result))
      return
    }
    const record = inputs.github
      ? new DeploymentRecord(
          { ...inputs.github, description: `${inputs.mode} via ops-actions deploy-bluegreen` },
          io.context
        )
      : undefined
    const deploymentId = await record?.start()

    // If the job is cancelled after traffic moved but before it was verified, put it back.
    let restoreOnCancel: { weights: Weights; movedTo: Slot } | undefined
    let cancelling: Promise<void> | undefined
    const result: BlueGreenResult = await withCancelCleanup(
      (signal) => (cancelling = cancelCleanup(signal)),
      () =>
        runBlueGreen(router, inputs.release, (before, movedTo) => {
          restoreOnCancel = before && movedTo ? { weights: before, movedTo } : undefined
        })
    )
    if (cancelling) {
      // The change in progress finished after the signal: the restore queued behind it decides,
      // and the cancel handler exits when it is done. Report nothing from this stale result.
      await cancelling
      await new Promise(() => undefined)
    }
    async function cancelCleanup(signal: string): Promise<void> {
      if (restoreOnCancel) {
        const { weights, movedTo } = restoreOnCancel
        // movedTo holds the release whose switch was cancelled: record nothing to roll back to.
        const back = placement(weights)
        await router.setWeights(weights, {
          previous: back.kind === 'single' ? back.live : movedTo,
          reason: `cancelled (${signal})`
        })
        log.warning(
          `cancelled before verification finished: traffic restored to ${formatWeights(weights)}`
        )
      }
      await record?.finish(false, `cancelled (${signal})`)
    }

    report(io, result, deploymentId)
    await io.writeSummary(blueGreenSummary(router.name, inputs, result))
    await record?.finish(
      !result.error,
      result.error ? describeFailure(result.error) : `${result.liveSlot} live`
    )
    if (result.error) {
      if (result.trafficAfterFailure) log.error(`traffic: ${result.trafficAfterFailure}`)
      throw result.error
    }
  } finally {
    await close()
  }
}

/** The outputs of a deploy, rollback or dry run. */
function report(io: ActionIO, result: BlueGreenResult, deploymentId: number | undefined): void {
  io.setOutput('live-slot', result.liveSlot ?? '')
  io.setOutput('previous-slot', result.previousSlot ?? '')
  io.setOutput('switched', result.switched)
  io.setOutput('rolled-back', result.rolledBack)
  io.setOutput('switch-ms', result.switchMs ?? '')
  // the probe's and real traffic's verdicts together: only pass is a verified switch
  io.setOutput('verification', result.verification ? (result.verdict ?? '') : '')
  io.setOutput('verify-requests', result.verify?.total ?? '')
  io.setOutput(
    'error-rate-upper-bound',
    result.verification ? upperBoundShown(result.verification) : ''
  )
  io.setOutput(
    'p95-upper-bound-ms',
    result.verification?.p95.upperBoundMs !== undefined
      ? Math.round(result.verification.p95.upperBoundMs)
      : ''
  )
  const t = result.traffic
  io.setOutput('verify-traffic', t?.verdict ?? '')
  io.setOutput('verify-traffic-requests', t?.requests !== undefined ? Math.round(t.requests) : '')
  io.setOutput(
    'verify-traffic-error-rate-upper-bound',
    t?.errorUpperBoundPercent !== undefined
      ? percentShown(t.errorUpperBoundPercent / 100).replace(' %', '')
      : ''
  )
  io.setOutput('verify-traffic-p95-ms', t?.p95Ms !== undefined ? Math.round(t.p95Ms) : '')
  io.setOutput('deployment-id', deploymentId ?? '')
}
