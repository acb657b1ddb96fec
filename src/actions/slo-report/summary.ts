import { formatDuration } from '../../core/duration.js'
import { Summary } from '../../core/summary.js'
import { xyChart } from '../../slo-report/chart.js'
import type { DeliveryReport } from '../../slo-report/delivery.js'
import type { Figure } from '../../slo-report/figures.js'
import type { PeriodData } from '../../slo-report/prometheus-period.js'

export interface ReviewView {
  title: string
  verdict: 'met' | 'missed' | 'inconclusive'
  figures: Figure[]
  budgetLeft?: number
  burnRate?: number
  period: { start: Date; end: Date }
  data: PeriodData
  bounds: { errorRate: number; p95Seconds: number }
  delivery?: DeliveryReport
  truncated: boolean
}

const MARK: Record<Figure['verdict'], string> = {
  met: '✅ met',
  missed: '❌ missed',
  'no data': '⚠️ no data',
  none: '— none in the period'
}

export function reviewSummary(v: ReviewView): string {
  const s = new Summary()
  const missed = v.figures.filter((f) => f.verdict === 'missed').map((f) => f.name)
  const unknown = v.figures.filter((f) => f.verdict === 'no data').map((f) => f.name)
  const headline =
    v.verdict === 'met'
      ? 'every goal met'
      : v.verdict === 'missed'
        ? `missed: ${missed.join(', ')}`
        : `inconclusive, no data for: ${unknown.join(', ')}`
  s.heading(`${v.title}: ${headline}`)
  const budget =
    v.budgetLeft === undefined
      ? 'error budget: no data'
      : `error budget left ${(v.budgetLeft * 100).toFixed(1)}% (burn rate ${v.burnRate!.toFixed(2)}x)`
  s.paragraph(
    `${v.period.start.toISOString()} to ${v.period.end.toISOString()}: ${budget}. Counts are Prometheus increase() estimates, rounded; rates are computed from the rounded counts.`
  )
  s.table(
    ['Figure', 'Measured', 'Goal', 'Verdict'],
    v.figures.map((f) => [
      f.name,
      f.value,
      f.goal || '—',
      f.goal ? MARK[f.verdict] : f.verdict === 'no data' ? MARK['no data'] : 'ℹ️'
    ])
  )
  const errorChart = xyChart(
    'Error rate (%) per step, with the bound',
    '%',
    v.data.errorRate.map((p) => ({ at: p.at, value: p.value * 100 })),
    v.bounds.errorRate * 100
  )
  const p95Chart = xyChart(
    'P95 latency (ms) per step, with the bound',
    'ms',
    v.data.p95Seconds.map((p) => ({ at: p.at, value: p.value * 1000 })),
    v.bounds.p95Seconds * 1000
  )
  s.paragraph(errorChart || '_No error-rate series to chart._')
  s.paragraph(p95Chart || '_No latency series to chart._')
  if (v.data.warnings.length)
    s.paragraph(`⚠️ Prometheus warned (the figures may be short): ${v.data.warnings.join('; ')}`)
  if (v.delivery?.events.length) {
    s.details(
      `Deployments in the period (${v.delivery.events.length})`,
      new Summary()
        .table(
          ['Started', 'Kind', 'Outcome', 'Took'],
          v.delivery.events.map((e) => [
            e.startedAt.toISOString(),
            e.kind,
            e.outcome,
            e.durationMs === undefined ? '—' : formatDuration(e.durationMs)
          ])
        )
        .toMarkdown()
    )
  }
  if (v.truncated)
    s.paragraph('⚠️ More deployments than `max-deployments`: the oldest were not read.')
  s.details(
    'How each figure is measured',
    new Summary()
      .table(
        ['Figure', 'Basis'],
        v.figures.map((f) => [f.name, f.basis])
      )
      .toMarkdown()
  )
  return s.toMarkdown()
}
