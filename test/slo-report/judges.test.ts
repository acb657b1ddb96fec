import { describe, expect, it } from '@jest/globals'
import { formatDuration } from '../../src/core/duration.js'
import { Inputs } from '../../src/core/inputs.js'
import { overallVerdict } from '../../src/actions/slo-report/main.js'
import { readReportInputs } from '../../src/actions/slo-report/inputs.js'
import { runContextFromEnv } from '../../src/core/run-context.js'
import { xyChart } from '../../src/slo-report/chart.js'
import {
  deliveryFigures,
  judgeDelivery,
  restoreTimes,
  type DeploymentHistory
} from '../../src/slo-report/delivery.js'
import { judgeService, type ServiceGoals } from '../../src/slo-report/figures.js'
import { periodQueries } from '../../src/slo-report/prometheus-period.js'

const goals: ServiceGoals = {
  availability: 0.999,
  maxErrorRate: 0.001,
  p95Seconds: 0.5,
  minThroughputRps: 100
}
const week = 7 * 86_400

describe('judgeService', () => {
  it.each([
    // requests, errors, availability verdict, error-rate verdict, budget left
    [1_000_000, 500, 'met', 'met', 0.5],
    [1_000_000, 1000, 'met', 'met', 0],
    [1_000_000, 1001, 'missed', 'missed', -0.001],
    [1_000_000, 3000, 'missed', 'missed', -2]
  ])('%d requests, %d errors: %s / %s, budget left %d', (requests, errors, avail, rate, left) => {
    const r = judgeService({ requests, errors, periodSeconds: week, peakRps: 200 }, goals)
    expect(r.figures[0].verdict).toBe(avail)
    expect(r.figures[1].verdict).toBe(rate)
    expect(r.budgetLeft).toBeCloseTo(left, 6)
  })

  it('shows the integers it judged and the rate computed from them, not the raw estimates', () => {
    const r = judgeService({ requests: 36.6, errors: 1.4, periodSeconds: 60 }, goals)
    expect([r.requests, r.errors]).toEqual([37, 1])
    expect(r.figures[1].value).toBe('2.703%')
    expect(r.figures[0].value).toContain('(1 of 37 requests failed)')
  })

  it.each([
    ['no series at all', { periodSeconds: week }],
    ['a counter that did not move', { requests: 0, errors: 0, periodSeconds: week }],
    ['less than half a request (extrapolation noise)', { requests: 0.3, periodSeconds: week }]
  ])('%s is "no data", never met', (_what, counts) => {
    const r = judgeService(counts, goals)
    expect(r.figures.map((f) => f.verdict)).toEqual(['no data', 'no data', 'no data', 'no data'])
    expect(r.budgetLeft).toBeUndefined()
  })

  it.each([
    // p95, fast share, verdict: the exact bucket share wins over the interpolated P95
    [0.3, undefined, 'met'],
    [0.5, undefined, 'missed'],
    [0.49, 0.94, 'missed'],
    [0.6, 0.95, 'met'],
    [undefined, undefined, 'no data'],
    [Number.NaN, undefined, 'no data']
  ])('P95 %s with fast share %s: %s', (p95Seconds, fastShare, verdict) => {
    const r = judgeService(
      { requests: 100, errors: 0, p95Seconds, fastShare, periodSeconds: 60 },
      goals
    )
    expect(r.figures[2].verdict).toBe(verdict)
  })
})

const at = (iso: string): Date => new Date(iso)
function deployment(
  id: number,
  created: string,
  final: [string, string] | undefined,
  extra: Partial<DeploymentHistory> = {}
): DeploymentHistory {
  return {
    id,
    sha: `${id}`.padStart(40, 'a'),
    createdAt: at(created),
    statuses: [
      { state: 'in_progress', createdAt: at(created) },
      ...(final ? [{ state: final[0], createdAt: at(final[1]) }] : [])
    ],
    ...extra
  }
}

describe('delivery figures', () => {
  const history = [
    deployment(1, '2026-11-23T10:00:00Z', ['success', '2026-11-23T10:04:00Z'], {
      commitAt: at('2026-11-23T09:00:00Z')
    }),
    deployment(2, '2026-11-24T10:00:00Z', ['failure', '2026-11-24T10:12:00Z']),
    deployment(3, '2026-11-24T10:20:00Z', ['success', '2026-11-24T10:26:00Z'], {
      commitAt: at('2026-11-24T08:26:00Z')
    }),
    deployment(4, '2026-11-25T10:00:00Z', ['success', '2026-11-25T10:01:00Z'], {
      description: 'rollback via ops-actions deploy-bluegreen'
    }),
    deployment(5, '2026-11-26T10:00:00Z', undefined)
  ]

  it('counts finished deploys, success rate, durations, lead time; rollbacks apart', () => {
    const r = deliveryFigures(history)
    expect({
      deploys: r.deploys,
      ok: r.succeeded,
      failed: r.failed,
      rollbacks: r.rollbacks
    }).toEqual({
      deploys: 3,
      ok: 2,
      failed: 1,
      rollbacks: 1
    })
    expect(r.successRate).toBeCloseTo(2 / 3)
    expect([r.deployMsMedian, r.deployMsMax]).toEqual([5 * 60_000, 6 * 60_000])
    expect(r.leadMsMedian).toBe((64 * 60_000 + 120 * 60_000) / 2)
    expect(r.rollbackMsMax).toBe(60_000)
  })

  it('time to restore runs from a failure or a rollback start to the next success', () => {
    expect(restoreTimes(history)).toEqual([14 * 60_000, 60_000])
  })

  it('judges against the goals; no rollback and no incident are "none", neither met nor missing', () => {
    const figures = judgeDelivery(
      deliveryFigures([history[0]]),
      {
        maxDeployMs: 600_000,
        minSuccessRate: 0.95,
        maxRollbackMs: 300_000,
        maxRestoreMs: 1_800_000
      },
      formatDuration
    )
    expect(figures.map((f) => [f.name, f.verdict])).toEqual([
      ['Deploys', 'met'],
      ['Deploy success rate', 'met'],
      ['Deploy time', 'met'],
      ['Lead time (commit -> live)', 'met'],
      ['Rollback time', 'none'],
      ['Time to restore (MTTR)', 'none']
    ])
  })

  it('a rollback that never succeeded misses its goal', () => {
    const failedRollback = deployment(
      9,
      '2026-11-25T10:00:00Z',
      ['failure', '2026-11-25T10:09:00Z'],
      {
        task: 'deploy:rollback'
      }
    )
    const figures = judgeDelivery(
      deliveryFigures([failedRollback]),
      {
        maxDeployMs: 600_000,
        minSuccessRate: 0.95,
        maxRollbackMs: 300_000,
        maxRestoreMs: 1_800_000
      },
      formatDuration
    )
    expect(figures.find((f) => f.name === 'Rollback time')?.verdict).toBe('missed')
  })
})

describe('overallVerdict', () => {
  const f = (verdict: 'met' | 'missed' | 'no data', goal = '>= 1'): never =>
    ({ name: 'x', value: '', goal, verdict, basis: '' }) as never
  it.each([
    [[f('met'), f('met')], 'met'],
    [[f('met'), f('no data')], 'inconclusive'],
    [[f('no data'), f('missed')], 'missed'],
    [[f('met'), f('no data', '')], 'met']
  ])('%j -> %s', (figures, verdict) => {
    expect(overallVerdict(figures)).toBe(verdict)
  })
})

describe('xyChart', () => {
  it('draws the series and the bound as two lines', () => {
    const text = xyChart(
      'Error rate',
      '%',
      [
        { at: at('2026-11-23T00:00:00Z'), value: 0.05 },
        { at: at('2026-11-24T00:00:00Z'), value: 0.2 },
        { at: at('2026-11-26T00:00:00Z'), value: Number.NaN },
        { at: at('2026-11-27T00:00:00Z'), value: 0.01 }
      ],
      0.1
    )
    expect(text.split('\n')).toEqual([
      '```mermaid',
      'xychart-beta',
      '  title "Error rate"',
      '  x-axis ["11-23", "11-24", "11-27"]',
      '  y-axis "%" 0 --> 0.22',
      '  line [0.05, 0.2, 0.01]',
      '  line [0.1, 0.1, 0.1]',
      '```'
    ])
  })
  it('has nothing to draw from fewer than two points', () => {
    expect(xyChart('x', '%', [{ at: at('2026-11-23T00:00:00Z'), value: 1 }])).toBe('')
  })
})

describe('inputs', () => {
  const read = (values: Record<string, string>): ReturnType<typeof readReportInputs> =>
    readReportInputs(
      new Inputs((n) => ({ 'prometheus-url': 'http://127.0.0.1:9090', ...values })[n] ?? ''),
      runContextFromEnv({}),
      at('2026-12-01T00:00:00Z')
    )
  it.each([
    [{ selector: 'job="a"}[5m])) or vector(1) #' }, /input `selector`/],
    [{ selector: 'job=a' }, /input `selector`/],
    [{ 'status-label': 'code"}' }, /input `status-label`/],
    [{ 'requests-metric': 'rate(x[5m])' }, /input `requests-metric`/],
    [{ period: '30s' }, /input `period` = `30s`: expected a duration from 1m to 92d/],
    [{ end: '2026-11-30T00:00:00' }, /input `end`.*with a zone/],
    [{ end: '2027-01-01T00:00:00Z' }, /input `end`.*not in the future/],
    [{ issue: 'true' }, /input `github-token` is required when `issue` is true/],
    [{ 'error-rate-goal': '101%' }, /input `error-rate-goal`/]
  ])('%j is refused before any query', (values, message) => {
    expect(() => read(values as Record<string, string>)).toThrow(message)
  })
  it('accepts several matchers and builds PromQL only from them', () => {
    const r = read({ selector: 'job="api", env=~"prod.*"', period: '7d' })
    const q = periodQueries({
      url: r.prometheus.url,
      timeoutMs: 1000,
      selector: r.selector,
      statusLabel: 'code',
      requestsMetric: 'http_requests_total',
      latencyMetric: 'http_request_duration_seconds',
      latencyBoundSeconds: 0.5,
      end: r.end,
      periodSeconds: week
    })
    expect(q.errors).toBe(
      'sum(increase(http_requests_total{job="api", env=~"prod.*", code=~"5.."}[604800s]))'
    )
    expect(q.fast).toContain('le="0.5"')
  })
})
