// What a notification says, whatever the channel: one release or check event, with the facts
// the decision used. Channels (Slack, Teams, a JSON webhook) only format it.

export const NOTIFY_EVENTS = [
  'start',
  'step',
  'promoted',
  'aborted',
  'switched',
  'rolled-back',
  'failed',
  'passed'
] as const
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number]

export interface NotifyEvent {
  kind: NotifyEventKind
  /** The action that sends it: canary-promote, deploy-bluegreen, security-scan, backup-verify. */
  action: string
  /** One line, verdict first: "canary aborted at 25%: error rate 3.2% > 0.1%". */
  title: string
  /** Facts as shown in the job summary: name -> value. */
  fields: [string, string][]
  /** good: went as planned; bad: a failure or an abort; info: progress. */
  tone: 'good' | 'bad' | 'info'
  repository?: string
  environment?: string
  runUrl?: string
  at: Date
}

/** Events with no word of their own in `notify-on` default to these. */
export const DEFAULT_NOTIFY_ON: NotifyEventKind[] = [
  'promoted',
  'aborted',
  'switched',
  'rolled-back',
  'failed'
]
