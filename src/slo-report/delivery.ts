// The delivery side of the weekly review, from the GitHub Deployments of one environment:
// deploy count, success rate, deploy time, lead time, rollback time and time to restore. Pure.

export interface DeploymentHistory {
  id: number
  sha: string
  createdAt: Date
  task?: string
  description?: string
  /** Statuses oldest first. */
  statuses: { state: string; createdAt: Date }[]
  /** When the deployed commit was made (for lead time), if known. */
  commitAt?: Date
}

export interface DeliveryGoals {
  maxDeployMs: number
  minSuccessRate: number
  maxRollbackMs: number
  maxRestoreMs: number
}

export interface DeliveryEvent {
  id: number
  kind: 'deploy' | 'rollback'
  outcome: 'success' | 'failure' | 'unfinished'
  startedAt: Date
  durationMs?: number
  leadTimeMs?: number
}

export interface DeliveryReport {
  events: DeliveryEvent[]
  deploys: number
  succeeded: number
  failed: number
  successRate?: number
  deployMsMedian?: number
  deployMsMax?: number
  leadMsMedian?: number
  rollbacks: number
  rollbackMsMax?: number
  /** One entry per incident: a failed deploy or a rollback, to the next success. */
  restoreMs: number[]
}

const FINAL = new Set(['success', 'failure', 'error'])

export function isRollback(d: Pick<DeploymentHistory, 'task' | 'description'>): boolean {
  return d.task === 'deploy:rollback' || /^rollback\b/i.test(d.description ?? '')
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export function toEvent(d: DeploymentHistory): DeliveryEvent {
  const final = d.statuses.find((s) => FINAL.has(s.state))
  const outcome = !final ? 'unfinished' : final.state === 'success' ? 'success' : 'failure'
  const durationMs = final ? final.createdAt.getTime() - d.createdAt.getTime() : undefined
  const leadTimeMs =
    final?.state === 'success' && d.commitAt
      ? final.createdAt.getTime() - d.commitAt.getTime()
      : undefined
  return {
    id: d.id,
    kind: isRollback(d) ? 'rollback' : 'deploy',
    outcome,
    startedAt: d.createdAt,
    durationMs,
    leadTimeMs
  }
}

function finishedAt(d: DeploymentHistory): Date | undefined {
  return d.statuses.find((s) => FINAL.has(s.state))?.createdAt
}

/**
 * Time to restore: an incident opens when a deploy fails or a rollback starts (a bad release
 * was live) and closes at the next successful deployment of either kind that finished after it.
 */
export function restoreTimes(history: DeploymentHistory[]): number[] {
  const sorted = [...history].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
  const times: number[] = []
  let openedAt: Date | undefined
  for (const d of sorted) {
    const event = toEvent(d)
    const done = finishedAt(d)
    if (openedAt === undefined) {
      if (event.kind === 'rollback') openedAt = d.createdAt
      else if (event.outcome === 'failure') openedAt = done
    }
    if (openedAt !== undefined && event.outcome === 'success' && done && done >= openedAt) {
      times.push(done.getTime() - openedAt.getTime())
      openedAt = undefined
    }
  }
  return times
}

export function deliveryFigures(history: DeploymentHistory[]): DeliveryReport {
  const events = history.map(toEvent).sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())
  const deploys = events.filter((e) => e.kind === 'deploy' && e.outcome !== 'unfinished')
  const succeeded = deploys.filter((e) => e.outcome === 'success')
  const durations = succeeded.flatMap((e) => (e.durationMs === undefined ? [] : [e.durationMs]))
  const leads = succeeded.flatMap((e) => (e.leadTimeMs === undefined ? [] : [e.leadTimeMs]))
  const rollbacks = events.filter((e) => e.kind === 'rollback')
  const rollbackMs = rollbacks.flatMap((e) =>
    e.outcome === 'success' && e.durationMs !== undefined ? [e.durationMs] : []
  )
  return {
    events,
    deploys: deploys.length,
    succeeded: succeeded.length,
    failed: deploys.length - succeeded.length,
    successRate: deploys.length ? succeeded.length / deploys.length : undefined,
    deployMsMedian: median(durations),
    deployMsMax: durations.length ? Math.max(...durations) : undefined,
    leadMsMedian: median(leads),
    rollbacks: rollbacks.length,
    rollbackMsMax: rollbackMs.length ? Math.max(...rollbackMs) : undefined,
    restoreMs: restoreTimes(history)
  }
}

/** Verdicts on the delivery figures; a figure with no event to measure is "no data". */
export function judgeDelivery(
  r: DeliveryReport,
  goals: DeliveryGoals,
  format: (ms: number) => string
): import('./figures.js').Figure[] {
  const within = (v: number | undefined, max: number): 'met' | 'missed' | 'no data' =>
    v === undefined ? 'no data' : v <= max ? 'met' : 'missed'
  // No rollback or incident in the period is a known zero, not missing data.
  const worstRestore = r.restoreMs.length ? Math.max(...r.restoreMs) : undefined
  return [
    {
      name: 'Deploys',
      value: `${r.deploys} finished (${r.succeeded} succeeded, ${r.failed} failed)`,
      goal: '',
      verdict: r.deploys ? 'met' : 'no data',
      basis: 'GitHub Deployments of the environment created in the period'
    },
    {
      name: 'Deploy success rate',
      value:
        r.successRate === undefined
          ? 'no finished deploy'
          : `${(r.successRate * 100).toFixed(1)}% (${r.succeeded}/${r.deploys})`,
      goal: `>= ${(goals.minSuccessRate * 100).toFixed(1)}%`,
      verdict:
        r.successRate === undefined
          ? 'no data'
          : r.successRate >= goals.minSuccessRate
            ? 'met'
            : 'missed',
      basis: 'final status success vs failure/error; rollbacks are counted apart'
    },
    {
      name: 'Deploy time',
      value:
        r.deployMsMax === undefined
          ? 'no successful deploy'
          : `median ${format(r.deployMsMedian!)}, max ${format(r.deployMsMax)}`,
      goal: `<= ${format(goals.maxDeployMs)}`,
      verdict: within(r.deployMsMax, goals.maxDeployMs),
      basis: 'deployment created -> final success status (the worst one is judged)'
    },
    {
      name: 'Lead time (commit -> live)',
      value: r.leadMsMedian === undefined ? 'unknown' : `median ${format(r.leadMsMedian)}`,
      goal: '',
      verdict: r.leadMsMedian === undefined ? 'no data' : 'met',
      basis: 'commit time of the deployed SHA -> success status'
    },
    {
      name: 'Rollback time',
      value:
        r.rollbacks === 0
          ? 'no rollback'
          : r.rollbackMsMax === undefined
            ? `${r.rollbacks} rollback(s), none succeeded`
            : `max ${format(r.rollbackMsMax)} over ${r.rollbacks}`,
      goal: `<= ${format(goals.maxRollbackMs)}`,
      verdict:
        r.rollbacks === 0
          ? 'none'
          : r.rollbackMsMax === undefined
            ? 'missed'
            : within(r.rollbackMsMax, goals.maxRollbackMs),
      basis: 'rollback deployment created -> success status'
    },
    {
      name: 'Time to restore (MTTR)',
      value:
        r.restoreMs.length === 0
          ? 'no incident'
          : `mean ${format(r.restoreMs.reduce((a, b) => a + b, 0) / r.restoreMs.length)}, worst ${format(worstRestore!)}`,
      goal: `<= ${format(goals.maxRestoreMs)}`,
      verdict: r.restoreMs.length === 0 ? 'none' : within(worstRestore, goals.maxRestoreMs),
      basis: 'failed deploy or rollback start -> next successful deployment'
    }
  ]
}
