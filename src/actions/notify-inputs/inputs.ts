// The notification inputs every action that notifies shares (validated before anything runs);
// read here at the edge, src/notify/ gets the NotifyConfig.
import { ConfigurationError } from '../../core/errors.js'
import type { Inputs } from '../../core/inputs.js'
import { DEFAULT_NOTIFY_ON, NOTIFY_EVENTS, type NotifyEventKind } from '../../notify/event.js'
import type { Channel, NotifyConfig } from '../../notify/send.js'

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])$/

/** https anywhere; plain http only to this machine (a local relay, or the lab). */
export function parseWebhookUrl(name: string, raw: string): string {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    // The value is a secret: name the input, never echo it.
    throw new ConfigurationError(
      `input \`${name}\`: not an absolute URL (expected https://...)`,
      name
    )
  }
  const local = url.protocol === 'http:' && LOOPBACK.test(url.hostname)
  if (url.protocol !== 'https:' && !local)
    throw new ConfigurationError(
      `input \`${name}\`: expected an https:// URL (http:// only to 127.0.0.1 or localhost), got scheme ${url.protocol}`,
      name
    )
  return url.toString()
}

export function readNotifyConfig(inputs: Inputs): NotifyConfig | undefined {
  const channels: Channel[] = []
  for (const [name, kind] of [
    ['notify-slack-webhook', 'slack'],
    ['notify-teams-webhook', 'teams'],
    ['notify-webhook', 'webhook']
  ] as const) {
    const raw = inputs.optional(name)
    if (raw) channels.push({ kind, url: parseWebhookUrl(name, raw) })
  }
  const listed = inputs.list('notify-on')
  for (const word of listed)
    if (!(NOTIFY_EVENTS as readonly string[]).includes(word))
      throw new ConfigurationError(
        `input \`notify-on\` = \`${word}\`: expected events from ${NOTIFY_EVENTS.join(', ')}`,
        'notify-on'
      )
  if (!channels.length) return undefined
  return {
    channels,
    on: listed.length ? (listed as NotifyEventKind[]) : DEFAULT_NOTIFY_ON,
    webhookSecret: inputs.optional('notify-webhook-secret'),
    timeoutMs: 10_000
  }
}
