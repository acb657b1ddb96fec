import { formatDuration } from '../../core/duration.js'
import { Summary } from '../../core/summary.js'
import { maxAnalysesPerStep } from '../../release/canary.js'
import type { CanaryResult } from '../../release/canary.js'
import { formatWeights, type Weights } from '../../traffic/slots.js'
import type { CanaryInputs } from './inputs.js'

const ICON = { pass: '✅ pass', fail: '❌ fail', inconclusive: '⚪ inconclusive' }

/** The decisions table: every analysis, every check, the measured value and its bound. */
export function canarySummary(routerName: string, inputs: CanaryInputs, r: CanaryResult): string {
  const title = {
    promoted: `${r.canary} promoted to 100%`,
    aborted: `aborted, all traffic back on ${r.stable}`,
    'dry-run': 'dry run (nothing changed)'
  }
  const c = inputs.canary
  const s = new Summary().heading(`canary-promote: ${title[r.result]}`)
  s.facts([
    ['Router', routerName],
    ['Canary / stable', `${r.canary} / ${r.stable}`],
    [
      'Steps',
      `${c.steps.join('% → ')}%, each held ${formatDuration(c.stepDurationMs)}, analysed every ${formatDuration(c.intervalMs)}`
    ],
    [
      'SLOs',
      `error rate ≤ ${c.thresholds.maxErrorRatePercent}%, P95 < ${c.thresholds.maxP95Ms} ms, ≥ ${c.thresholds.minRequests} requests per analysis`
    ],
    [
      'Judgement',
      (c.thresholds.errorJudgement ?? 'interval') === 'interval'
        ? inputs.analysis === 'sequential'
          ? `interval: a step advances only when the anytime-valid upper bounds (at 1 − alpha ${inputs.sequential.alpha}) are within the SLOs; too little data is inconclusive, never a pass`
          : `interval: pass only when the one-sided Clopper-Pearson upper bound is within the SLO at 95 % overall (split over up to ${maxAnalysesPerStep(c) * c.steps.length} analyses, Bonferroni), fail only when the lower bound is above; a step undecided after ${formatDuration(c.maxStepDurationMs ?? 5 * c.stepDurationMs)} is rolled back`
        : 'point: the observed rates against the SLOs, no bound stated (weaker: a pass on few requests shows little)'
    ],
    [
      'Abort rule',
      `failure ${c.failureLimit + 1} aborts (failure-limit ${c.failureLimit}); ${c.maxInconclusive} inconclusive in a row abort`
    ],
    ['Result', r.result === 'aborted' ? `aborted: ${r.abortReason}` : r.result],
    ['Final canary weight', `${r.finalWeight}%`],
    [
      'Duration',
      `${formatDuration(r.durationMs)} (configured minimum ${formatDuration(r.plannedMs)})`
    ]
  ])
  const rows: unknown[][] = []
  for (const d of r.decisions) {
    for (const m of d.measurements) {
      rows.push([
        `${d.weight}%`,
        d.analysis,
        m.check,
        m.shown,
        m.bound,
        ICON[m.verdict] + (m.note ? ` (${m.note})` : '')
      ])
    }
  }
  if (rows.length)
    s.heading('Decisions', 3).table(['weight', '#', 'check', 'measured', 'bound', 'verdict'], rows)
  const queries = r.decisions[0]?.measurements
    .filter((m) => m.query)
    .map((m) => `${m.check}: ${m.query}`)
  if (queries?.length)
    s.details('Queries', queries.map((q) => `- \`${q.replace(/`/g, "'")}\``).join('\n'))
  return s.toMarkdown()
}

export function manualSummary(
  mode: string,
  routerName: string,
  before: Weights,
  after: Weights,
  explanation: string,
  dryRun: boolean
): string {
  return new Summary()
    .heading(`canary-promote ${mode}${dryRun ? ' (dry run)' : ''}`)
    .facts([
      ['Router', routerName],
      ['Before', formatWeights(before)],
      ['After', formatWeights(dryRun ? before : after)],
      ['What', explanation]
    ])
    .toMarkdown()
}
