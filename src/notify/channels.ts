// The request body each channel expects for one event. Pure.
import type { NotifyEvent } from './event.js'

export type ChannelKind = 'slack' | 'teams' | 'webhook'

const ICON: Record<NotifyEvent['tone'], string> = { good: '✅', bad: '🚨', info: 'ℹ️' }

/** Slack's mrkdwn needs &, < and > escaped; nothing else is special in text objects. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Slack incoming webhook: `text` (notification fallback) and Block Kit blocks. */
export function slackBody(e: NotifyEvent): unknown {
  const head = `${ICON[e.tone]} ${slackEscape(e.title)}`
  const context = [e.repository, e.environment].filter(Boolean).map((s) => slackEscape(s!))
  return {
    text: head,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${head}*` } },
      ...(e.fields.length
        ? [
            {
              type: 'section',
              fields: e.fields.slice(0, 10).map(([k, v]) => ({
                type: 'mrkdwn',
                text: `*${slackEscape(k)}*\n${slackEscape(v)}`
              }))
            }
          ]
        : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: [
              `ops-actions ${e.action}`,
              ...context,
              e.runUrl ? `<${e.runUrl}|run>` : undefined
            ]
              .filter(Boolean)
              .join(' · ')
          }
        ]
      }
    ]
  }
}

/** Microsoft Teams (Workflows webhook): a message with one Adaptive Card. */
export function teamsBody(e: NotifyEvent): unknown {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: `${ICON[e.tone]} ${e.title}`,
              weight: 'Bolder',
              wrap: true,
              color: e.tone === 'bad' ? 'Attention' : e.tone === 'good' ? 'Good' : 'Default'
            },
            {
              type: 'FactSet',
              facts: [
                ...e.fields.map(([title, value]) => ({ title, value })),
                ...(e.environment ? [{ title: 'Environment', value: e.environment }] : [])
              ]
            }
          ],
          actions: e.runUrl
            ? [{ type: 'Action.OpenUrl', title: 'Open the run', url: e.runUrl }]
            : []
        }
      }
    ]
  }
}

/** A generic JSON webhook: the event itself, versioned so receivers can rely on its shape. */
export function webhookBody(e: NotifyEvent): unknown {
  return {
    schema: 'ops-actions.notify/v1',
    kind: e.kind,
    action: e.action,
    tone: e.tone,
    title: e.title,
    fields: Object.fromEntries(e.fields),
    repository: e.repository,
    environment: e.environment,
    run_url: e.runUrl,
    at: e.at.toISOString()
  }
}

export function bodyFor(kind: ChannelKind, e: NotifyEvent): unknown {
  return kind === 'slack' ? slackBody(e) : kind === 'teams' ? teamsBody(e) : webhookBody(e)
}
