import { getOctokit } from '@actions/github'
import type { ActionIO } from '../../core/action.js'
import { formatDuration } from '../../core/duration.js'
import { GateError } from '../../core/errors.js'
import { log } from '../../core/log.js'
import { syncTrackingIssue } from '../../github/tracking-issue.js'
import { deliveryFigures, judgeDelivery, type DeliveryReport } from '../../slo-report/delivery.js'
import { judgeService, type Figure } from '../../slo-report/figures.js'
import { readDeployments } from '../../slo-report/github-history.js'
import { readPeriod } from '../../slo-report/prometheus-period.js'
import { readReportInputs } from './inputs.js'
import { reviewSummary } from './summary.js'

/** A goal with no data is never "met": the review is then inconclusive. */
export function overallVerdict(figures: Figure[]): 'met' | 'missed' | 'inconclusive' {
  const judged = figures.filter((f) => f.goal)
  if (judged.some((f) => f.verdict === 'missed')) return 'missed'
  if (judged.some((f) => f.verdict === 'no data')) return 'inconclusive'
  return 'met'
}

export async function run(io: ActionIO): Promise<void> {
  const inputs = readReportInputs(io.inputs, io.context)
  log.secret(inputs.github?.token)
  log.secret(inputs.prometheus.token)
  const start = new Date(inputs.end.getTime() - inputs.periodMs)
  const title = `SLO review ${inputs.serviceName}${inputs.github ? ` (${inputs.github.environment})` : ''}, ${start.toISOString().slice(0, 10)} to ${inputs.end.toISOString().slice(0, 10)}`
  if (inputs.dryRun) {
    log.info(`dry run: would read ${inputs.prometheus.url} for ${title}; nothing queried`)
    io.setOutput('verdict', 'dry-run')
    return
  }
  const data = await log.group('Prometheus', () =>
    readPeriod({
      ...inputs.prometheus,
      selector: inputs.selector,
      statusLabel: inputs.statusLabel,
      requestsMetric: inputs.requestsMetric,
      latencyMetric: inputs.latencyMetric,
      latencyBoundSeconds: inputs.service.p95Seconds,
      end: inputs.end,
      periodSeconds: Math.round(inputs.periodMs / 1000)
    })
  )
  const service = judgeService(data.counts, inputs.service)
  let delivery: DeliveryReport | undefined
  let truncated = false
  const octokit = inputs.github
    ? getOctokit(inputs.github.token, { baseUrl: io.context.apiUrl })
    : undefined
  if (inputs.github && octokit) {
    const read = await log.group('GitHub Deployments', () =>
      readDeployments(octokit, { ...inputs.github!, start, end: inputs.end })
    )
    truncated = read.truncated
    delivery = deliveryFigures(read.history)
  }
  const figures = [
    ...service.figures,
    ...(delivery ? judgeDelivery(delivery, inputs.delivery, formatDuration) : [])
  ]
  const verdict = overallVerdict(figures)
  const markdown = reviewSummary({
    title,
    verdict,
    figures,
    budgetLeft: service.budgetLeft,
    burnRate: service.burnRate,
    period: { start, end: inputs.end },
    data,
    bounds: { errorRate: inputs.service.maxErrorRate, p95Seconds: inputs.service.p95Seconds },
    delivery,
    truncated
  })
  await io.writeSummary(markdown)
  io.setOutput('verdict', verdict)
  io.setOutput('requests', service.requests ?? '')
  io.setOutput('errors', service.errors ?? '')
  io.setOutput(
    'availability',
    service.availability === undefined ? '' : (service.availability * 100).toFixed(4)
  )
  io.setOutput(
    'error-budget-left',
    service.budgetLeft === undefined ? '' : (service.budgetLeft * 100).toFixed(2)
  )
  io.setOutput(
    'p95-ms',
    data.counts.p95Seconds === undefined ? '' : Math.round(data.counts.p95Seconds * 1000)
  )
  io.setOutput('deploys', delivery?.deploys ?? '')
  io.setOutput(
    'deploy-success-rate',
    delivery?.successRate === undefined ? '' : (delivery.successRate * 100).toFixed(1)
  )
  if (inputs.issue && inputs.github && octokit) {
    const issue = await syncTrackingIssue(octokit, {
      owner: inputs.github.owner,
      repo: inputs.github.repo,
      label: inputs.issueLabel,
      key: `slo-report/${inputs.serviceName}/${inputs.github.environment}/${start.toISOString()}/${inputs.periodMs}`,
      title,
      body: markdown,
      close: verdict === 'met'
    })
    log.info(`tracking issue #${issue.number} ${issue.action}: ${issue.url}`)
    io.setOutput('issue-url', issue.url)
  }
  if (inputs.failOnMiss && verdict !== 'met')
    throw new GateError(
      `${title}: ${verdict === 'missed' ? 'a goal was missed' : 'some goals had no data'}`
    )
}
