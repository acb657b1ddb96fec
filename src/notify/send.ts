// Delivers one event to every configured channel. A notification never fails the action or
// delays a rollback for long: one retry on 429/5xx (Retry-After honoured up to 5 s), a bounded
// timeout, and a warning when it could not be delivered. Webhook URLs are secrets: masked, and
// never printed (a failure names the channel, not its URL).
import { createHmac } from 'node:crypto'
import { errorMessage } from '../core/errors.js'
import { log } from '../core/log.js'
import { bodyFor, type ChannelKind } from './channels.js'
import type { NotifyEvent, NotifyEventKind } from './event.js'

export interface Channel {
  kind: ChannelKind
  url: string
}

export interface NotifyConfig {
  channels: Channel[]
  on: NotifyEventKind[]
  /** HMAC-SHA256 key for the generic webhook's X-Ops-Actions-Signature header. */
  webhookSecret?: string
  timeoutMs: number
}

export interface Delivery {
  channel: ChannelKind
  ok: boolean
  status?: number
  attempts: number
  error?: string
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

async function post(
  channel: Channel,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number
): Promise<Delivery> {
  let attempts = 0
  for (;;) {
    attempts++
    try {
      const res = await fetch(channel.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs)
      })
      await res.arrayBuffer().catch(() => undefined)
      const retry = res.status === 429 || res.status >= 500
      if (res.ok || !retry || attempts >= 2)
        return { channel: channel.kind, ok: res.ok, status: res.status, attempts }
      const after = Number(res.headers.get('retry-after'))
      await new Promise((r) => setTimeout(r, Math.min(5000, after > 0 ? after * 1000 : 500)))
    } catch (error) {
      if (attempts >= 2)
        return { channel: channel.kind, ok: false, attempts, error: errorMessage(error) }
    }
  }
}

export async function notify(
  config: NotifyConfig | undefined,
  event: NotifyEvent
): Promise<Delivery[]> {
  if (!config || !config.on.includes(event.kind)) return []
  const results = await Promise.all(
    config.channels.map((channel) => {
      log.secret(channel.url)
      const body = JSON.stringify(bodyFor(channel.kind, event))
      const headers: Record<string, string> = {}
      if (channel.kind === 'webhook') {
        headers['x-ops-actions-event'] = event.kind
        if (config.webhookSecret)
          headers['x-ops-actions-signature'] = signature(config.webhookSecret, body)
      }
      return post(channel, body, headers, config.timeoutMs)
    })
  )
  for (const r of results) {
    if (!r.ok)
      log.warning(
        `notification to ${r.channel} not delivered after ${r.attempts} attempt(s): ${r.status ? `HTTP ${r.status}` : r.error}`
      )
  }
  return results
}
