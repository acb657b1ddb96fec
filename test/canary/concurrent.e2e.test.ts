import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ChildProcess } from 'node:child_process'
import { Lab } from '../../lab/lab.js'
import { startLoad } from '../../lab/load.js'
import { runAction, type ActionResult } from '../../lab/runner.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

/** Calls `then` once the action's log shows `pattern`. */
const when =
  (pattern: RegExp, then: (child: ChildProcess) => void) =>
  (child: ChildProcess): void => {
    let done = false
    child.stdout?.on('data', (d: Buffer) => {
      if (!done && pattern.test(d.toString())) {
        done = true
        then(child)
      }
    })
  }

describe('canary-promote: concurrent runs and reloads (bundle, real HAProxy + Prometheus)', () => {
  const lab = Lab.create()
  let app: Record<'blue' | 'green', AppSlot>
  let lb: HaproxyInstance
  let prometheus: PrometheusInstance

  beforeAll(async () => {
    app = await startApp(lab)
    ;[lb, prometheus] = await Promise.all([
      startHaproxy(lab, {
        stateFile: true,
        servers: [
          { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
          { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
        ]
      }),
      startPrometheus(lab, {
        targets: [
          { address: `127.0.0.1:${app.blue.port}` },
          { address: `127.0.0.1:${app.green.port}` }
        ]
      })
    ])
    await prometheus.waitForTargets()
  })
  afterAll(() => lab.stop())

  const inputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    router: 'haproxy',
    'haproxy-socket': lb.socket,
    'haproxy-state-file': lb.stateFile!,
    'prometheus-url': prometheus.url,
    steps: '50,100',
    'step-duration': '3s',
    'analysis-interval': '3s',
    'min-requests': '10',
    // about locking and reloads, not the statistics
    'error-judgement': 'point',
    ...extra
  })

  it('a second run started while the first is mid-canary does not hijack it', async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    const load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 60_000 })
    try {
      let second: Promise<ActionResult> | undefined
      const first = await runAction('canary-promote', inputs(), {
        onStart: when(/step 1\/2: green at 50%/, () => {
          second = runAction('canary-promote', inputs())
        })
      })
      expect(errorOf(first)).toBe('')
      expect(first.outputs.result).toBe('promoted')
      expect(second).toBeDefined()
      const b = await second!
      expect(b.exitCode).toBe(1)
      expect(b.outputs.result).not.toBe('promoted')
      expect(errorOf(b)).toMatch(
        /another run \(.*\) held the router lock when this run started|traffic moved while this run waited/
      )
      // All traffic stays on the version the first run promoted.
      expect(await lb.command('get weight app/green')).toMatch(/^100 /)
      expect(await lb.command('get weight app/blue')).toMatch(/^0 /)
    } finally {
      await load.stop()
    }
  }, 120_000)

  it('after an HAProxy reload, abort still sends traffic to the stable slot, not the canary', async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    const killed = await runAction(
      'canary-promote',
      inputs({ steps: '75,100', 'step-duration': '30s', 'analysis-interval': '30s' }),
      {
        post: false,
        onStart: when(/step 1\/2: green at 75%/, (child) =>
          setTimeout(() => child.kill('SIGKILL'), 300)
        )
      }
    )
    expect(killed.signal).toBe('SIGKILL')
    expect(await lb.command('get weight app/green')).toMatch(/^75 /)
    await lb.reload()
    expect(await lb.command('get weight app/green')).toMatch(/^75 /)
    const abort = await runAction('canary-promote', {
      router: 'haproxy',
      'haproxy-socket': lb.socket,
      'haproxy-state-file': lb.stateFile!,
      mode: 'abort'
    })
    expect(errorOf(abort)).toBe('')
    expect(abort.exitCode).toBe(0)
    expect(await lb.command('get weight app/blue')).toMatch(/^100 /)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  }, 120_000)
})
