import { formatDuration } from '../../core/duration.js'
import { describeFailure } from '../../core/errors.js'
import { Summary } from '../../core/summary.js'
import type { BlueGreenResult } from '../../release/bluegreen.js'
import { liveSlotOf } from '../../release/bluegreen.js'
import type { RouterState } from '../../traffic/router.js'
import { formatWeights } from '../../traffic/slots.js'
import type { DeployInputs } from './inputs.js'

const VERDICT = { pass: '✅ pass', fail: '❌ fail', inconclusive: '⚠️ inconclusive (not a pass)' }

export function statusSummary(routerName: string, state: RouterState): string {
  const { live, previous } = liveSlotOf(state)
  return new Summary()
    .heading(`deploy-bluegreen status: ${live ?? 'no slot'} live`)
    .facts([
      ['Router', routerName],
      ['Weights', formatWeights(state.weights)],
      ['Live slot', live ?? 'none'],
      ['Previous slot', previous ?? 'none'],
      ['Last change', state.changedAt ?? 'not recorded']
    ])
    .toMarkdown()
}

export function blueGreenSummary(
  routerName: string,
  inputs: DeployInputs,
  r: BlueGreenResult
): string {
  const titles = {
    switched: `switched to ${r.liveSlot}`,
    noop: 'nothing to do',
    'dry-run': 'dry run (nothing changed)',
    'rolled-back': `rolled back to ${r.liveSlot}`,
    failed: 'failed'
  }
  const s = new Summary().heading(`deploy-bluegreen ${inputs.mode}: ${titles[r.outcome]}`)
  const plan = r.plan
  s.heading('Plan', 3).facts([
    ['Router', routerName],
    ['Before', plan ? formatWeights(plan.before) : '?'],
    ['After', plan ? formatWeights(plan.after) : '?'],
    ['Why', plan?.explanation ?? ''],
    ...(plan?.recovering ? ([['Recognised', plan.recovering]] as [string, string][]) : [])
  ])
  const gates: unknown[][] = []
  const rel = inputs.release
  if (r.health) {
    gates.push([
      `health of ${plan?.to}`,
      `${r.health.successes} consecutive OK (${r.health.attempts} probes, ${formatDuration(r.health.elapsedMs)})`,
      `${rel.health.consecutive} in a row within ${formatDuration(rel.health.timeoutMs)}`,
      r.health.passed ? VERDICT.pass : VERDICT.fail
    ])
  }
  if (r.switchMs !== undefined)
    gates.push(['switch', `${r.switchMs} ms`, '', r.switched ? VERDICT.pass : VERDICT.fail])
  if (r.verify && rel.verify && r.verification) {
    const v = r.verification
    const interval = (rel.verify.judgement ?? 'interval') === 'interval'
    gates.push([
      'error rate after switch',
      v.errors.shown,
      interval
        ? `upper bound <= ${rel.verify.maxErrorRatePercent}%`
        : `<= ${rel.verify.maxErrorRatePercent}% (point estimate, weaker)`,
      VERDICT[v.errors.verdict]
    ])
    gates.push([
      'p95 latency after switch',
      v.p95.shown,
      interval
        ? `< ${rel.verify.maxP95Ms} ms: at most 5% of requests that slow, shown`
        : `< ${rel.verify.maxP95Ms} ms (point estimate, weaker)`,
      VERDICT[v.p95.verdict]
    ])
  }
  if (r.traffic) {
    const t = r.traffic
    for (const m of t.measurements) {
      gates.push([
        `real traffic of ${plan?.to}: ${m.check} (Prometheus, ${formatDuration(t.windowMs)} since the switch)`,
        m.shown,
        m.bound,
        VERDICT[m.verdict]
      ])
    }
  }
  if (gates.length) s.heading('Gates', 3).table(['check', 'measured', 'bound', 'verdict'], gates)
  s.heading('Result', 3).facts([
    ['Live slot', r.liveSlot ?? 'unknown'],
    ['Previous slot', r.previousSlot ?? 'unknown'],
    ['Switched', r.switched ? 'yes' : 'no'],
    ['Rolled back', r.rolledBack ? 'yes' : 'no'],
    ...(r.verification && r.verdict
      ? ([
          [
            'Verified',
            r.verdict === 'pass'
              ? `yes${r.traffic ? ' (probe and real traffic)' : ''}`
              : `no (${r.verdict}${r.traffic && r.traffic.verdict !== 'pass' ? ' on real traffic' : ''}${r.rolledBack ? ', so rolled back' : ''})`
          ]
        ] as [string, string][])
      : []),
    ...(r.error
      ? ([
          ['Failure', describeFailure(r.error)],
          ['Traffic now', r.trafficAfterFailure ?? 'unknown']
        ] as [string, string][])
      : [])
  ])
  return s.toMarkdown()
}
