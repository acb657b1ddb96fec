// Notifications against a local receiver standing in for Slack, Teams and a JSON webhook
// (contract test: it proves what we send, not what those services do with it).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import { Inputs } from '../../src/core/inputs.js'
import { setLogSink } from '../../src/core/log.js'
import type { NotifyEvent } from '../../src/notify/event.js'
import { readNotifyConfig } from '../../src/actions/notify-inputs/inputs.js'
import { notify, signature } from '../../src/notify/send.js'
import { slackEscape } from '../../src/notify/channels.js'

interface Received {
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

let server: Server
let base = ''
const received: Received[] = []
/** Per path: the statuses to answer with, in order (then 200). */
const script = new Map<string, number[]>()

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      const path = req.url ?? '/'
      received.push({ path, headers: req.headers, body })
      if (path.startsWith('/hang')) return // never answers: the sender's timeout ends it
      const status = script.get(path)?.shift() ?? 200
      res.writeHead(status, status === 429 ? { 'retry-after': '1' } : {})
      res.end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const event: NotifyEvent = {
  kind: 'aborted',
  action: 'canary-promote',
  title: 'canary aborted at 25%: error rate 3.2% (16/500) > 0.1% <b>',
  fields: [
    ['Weight now', 'stable 100%'],
    ['Error rate', '3.2% (16/500)']
  ],
  tone: 'bad',
  repository: 'acme/shop',
  environment: 'production',
  runUrl: 'https://github.com/acme/shop/actions/runs/1',
  at: new Date('2026-12-01T12:00:00Z')
}

const config = (values: Record<string, string>): ReturnType<typeof readNotifyConfig> =>
  readNotifyConfig(new Inputs((n) => values[n] ?? ''))

function captureWarnings(): { warnings: string[]; secrets: string[] } {
  const seen = { warnings: [] as string[], secrets: [] as string[] }
  const noop = (): void => undefined
  setLogSink({
    info: noop,
    debug: noop,
    warning: (m) => seen.warnings.push(String(m)),
    error: noop,
    notice: noop,
    startGroup: noop,
    endGroup: noop,
    setSecret: (s) => seen.secrets.push(s)
  })
  return seen
}

describe('notify', () => {
  it('sends Slack blocks, a Teams Adaptive Card and a signed JSON webhook', async () => {
    received.length = 0
    const seen = captureWarnings()
    const c = config({
      'notify-slack-webhook': `${base}/slack/T000/B000/XXX`,
      'notify-teams-webhook': `${base}/teams`,
      'notify-webhook': `${base}/hook`,
      'notify-webhook-secret': 's3cret'
    })
    const results = await notify(c, event)
    expect(results.map((r) => [r.channel, r.ok, r.attempts])).toEqual([
      ['slack', true, 1],
      ['teams', true, 1],
      ['webhook', true, 1]
    ])
    const by = Object.fromEntries(received.map((r) => [r.path.split('/')[1], r]))
    const slack = JSON.parse(by.slack.body) as { text: string; blocks: { type: string }[] }
    expect(slack.text).toBe(
      '🚨 canary aborted at 25%: error rate 3.2% (16/500) &gt; 0.1% &lt;b&gt;'
    )
    expect(slack.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context'])
    const teams = JSON.parse(by.teams.body) as {
      attachments: { contentType: string; content: { body: { facts?: unknown[] }[] } }[]
    }
    expect(teams.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive')
    expect(teams.attachments[0].content.body[1].facts).toHaveLength(3)
    const hook = JSON.parse(by.hook.body) as Record<string, unknown>
    expect(hook).toMatchObject({ schema: 'ops-actions.notify/v1', kind: 'aborted', tone: 'bad' })
    expect(by.hook.headers['x-ops-actions-signature']).toBe(signature('s3cret', by.hook.body))
    expect(by.hook.headers['x-ops-actions-event']).toBe('aborted')
    // The webhook URLs are secrets: masked before anything is sent.
    expect(seen.secrets).toEqual(expect.arrayContaining([`${base}/slack/T000/B000/XXX`]))
    expect(seen.warnings).toEqual([])
  })

  it('retries once on 503 and on 429 (after Retry-After), then gives up with a warning, never a throw', async () => {
    received.length = 0
    const seen = captureWarnings()
    script.set('/flaky', [503])
    script.set('/limited', [429])
    script.set('/down', [500, 500, 500])
    const results = await notify(
      {
        channels: [
          { kind: 'webhook', url: `${base}/flaky` },
          { kind: 'webhook', url: `${base}/limited` },
          { kind: 'webhook', url: `${base}/down` }
        ],
        on: ['aborted'],
        timeoutMs: 5000
      },
      event
    )
    expect(results.map((r) => [r.ok, r.status, r.attempts])).toEqual([
      [true, 200, 2],
      [true, 200, 2],
      [false, 500, 2]
    ])
    expect(seen.warnings).toEqual([
      'notification to webhook not delivered after 2 attempt(s): HTTP 500'
    ])
    // The warning names the channel, not the secret URL.
    expect(seen.warnings.join('')).not.toContain(base)
  })

  it('a receiver that never answers is cut off by the timeout', async () => {
    const seen = captureWarnings()
    const results = await notify(
      { channels: [{ kind: 'slack', url: `${base}/hang` }], on: ['aborted'], timeoutMs: 300 },
      event
    )
    expect(results[0].ok).toBe(false)
    expect(seen.warnings[0]).toMatch(/notification to slack not delivered after 2 attempt\(s\)/)
  })

  it('sends only the events in notify-on', async () => {
    received.length = 0
    const c = config({ 'notify-webhook': `${base}/hook`, 'notify-on': 'promoted, failed' })
    expect(await notify(c, event)).toEqual([])
    expect(received).toHaveLength(0)
  })
})

describe('notify inputs', () => {
  it.each([
    [
      { 'notify-slack-webhook': 'http://hooks.slack.com/services/T/B/X' },
      /`notify-slack-webhook`: expected an https:\/\/ URL/
    ],
    [{ 'notify-webhook': 'file:///etc/passwd' }, /`notify-webhook`: expected an https:\/\/ URL/],
    [{ 'notify-teams-webhook': 'not a url' }, /`notify-teams-webhook`: not an absolute URL/],
    // validated even when no channel is set
    [
      { 'notify-on': 'aborted, deployed' },
      /input `notify-on` = `deployed`: expected events from start/
    ]
  ])('%j is refused', (values, message) => {
    expect(() => config(values as Record<string, string>)).toThrow(message)
  })

  it('never echoes a refused webhook URL (it is a secret)', () => {
    expect(() => config({ 'notify-slack-webhook': 'http://hooks.example/SECRETPART' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRETPART') })
    )
  })

  it('no channel: no config, nothing sent', () => {
    expect(config({})).toBeUndefined()
  })

  it('escapes Slack mrkdwn control characters', () => {
    expect(slackEscape('a < b & c > d')).toBe('a &lt; b &amp; c &gt; d')
  })
})
