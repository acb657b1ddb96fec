import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { startLoad } from '../../lab/load.js'
import { runAction } from '../../lab/runner.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { renderUpstream } from '../../src/traffic/nginx.js'
import { settledSlotCounts } from '../../lab/slots.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

/** nginx logs "reconfiguring" on every reload it performs. */
const reloads = (n: NginxInstance): number =>
  (readFileSync(join(n.prefix, 'logs', 'error.log'), 'utf8').match(/reconfiguring/g) ?? []).length

describe('deploy-bluegreen and canary-promote with router nginx, nginx-mode lua', () => {
  const lab = Lab.create('ops-nginx-lua-actions-')
  let app: Record<'blue' | 'green', AppSlot>
  let nginx: NginxInstance
  let prometheus: PrometheusInstance
  let admin: string

  const nginxInputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    router: 'nginx',
    'nginx-mode': 'lua',
    'nginx-admin': admin,
    'nginx-upstream-file': nginx.upstreamFile,
    'blue-servers': `127.0.0.1:${app.blue.port}`,
    'green-servers': `127.0.0.1:${app.green.port}`,
    'nginx-upstream-options': 'keepalive 16;',
    'nginx-test-command': JSON.stringify(nginx.testCommand),
    'nginx-reload-command': JSON.stringify(nginx.reloadCommand),
    'health-url-blue': `${app.blue.url}/healthz`,
    'health-url-green': `${app.green.url}/healthz`,
    'health-checks': '1',
    'health-interval': '50ms',
    ...extra
  })

  beforeAll(async () => {
    app = await startApp(lab)
    admin = join(lab.path(), 'admin.sock')
    // A plain upstream file, as before the switch to nginx-mode lua: the first change installs it.
    const upstream = renderUpstream(
      {
        upstreamName: 'app',
        servers: { blue: [`127.0.0.1:${app.blue.port}`], green: [`127.0.0.1:${app.green.port}`] },
        upstreamOptions: ['keepalive 16;']
      },
      { blue: 100, green: 0 },
      'green',
      new Date(0).toISOString()
    )
    ;[nginx, prometheus] = await Promise.all([
      startNginx(lab, { lua: true, upstream }),
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

  it('refuses a peer given by name and an admin address off loopback before touching nginx', async () => {
    const before = readFileSync(nginx.upstreamFile, 'utf8')
    const named = await runAction(
      'deploy-bluegreen',
      nginxInputs({ 'green-servers': 'app.internal:80' })
    )
    expect(named.exitCode).toBe(2)
    expect(errorOf(named)).toMatch(/green-servers.*IP:port/)
    const open = await runAction('deploy-bluegreen', nginxInputs({ 'nginx-admin': '0.0.0.0:9180' }))
    expect(open.exitCode).toBe(2)
    expect(errorOf(open)).toMatch(/input `nginx-admin` = `0\.0\.0\.0:9180`/)
    const missing = await runAction('deploy-bluegreen', nginxInputs({ 'nginx-admin': '' }))
    expect(errorOf(missing)).toMatch(/input `nginx-admin` is required when nginx-mode is `lua`/)
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toBe(before)
  })

  it('deploy installs the Lua balancer with one reload, then rollback and deploy switch with none', async () => {
    const first = await runAction('deploy-bluegreen', nginxInputs())
    expect(errorOf(first)).toBe('')
    expect(await settledSlotCounts(nginx.url, 'green', { n: 20 })).toEqual({ green: 20 })
    const after = reloads(nginx)
    for (const [mode, slot] of [
      ['rollback', 'blue'],
      ['deploy', 'green'],
      ['rollback', 'blue']
    ] as const) {
      const r = await runAction('deploy-bluegreen', nginxInputs({ mode }))
      expect(errorOf(r)).toBe('')
      expect(await settledSlotCounts(nginx.url, slot, { n: 20 })).toEqual({ [slot]: 20 })
    }
    expect(reloads(nginx)).toBe(after)
    // A rollback records the slot it returned to as previous, so a second rollback is refused
    // (a queued second rollback must not undo the first).
    expect(readFileSync(nginx.upstreamFile, 'utf8')).toMatch(
      /# ops-actions: blue=100 green=0 previous=blue/
    )
  })

  it('canary-promote (sequential) walks green through every step with per-request splits, no reload', async () => {
    const before = reloads(nginx)
    const load = startLoad(nginx.url, { ratePerSecond: 200, maxDurationMs: 60_000 })
    try {
      const r = await runAction(
        'canary-promote',
        nginxInputs({
          'prometheus-url': prometheus.url,
          analysis: 'sequential',
          'step-duration': '3s',
          'analysis-interval': '3s',
          'min-requests': '10',
          // about switching without reloads, not the statistics
          'error-judgement': 'point'
        })
      )
      expect(errorOf(r)).toBe('')
      expect(r.outputs).toMatchObject({ result: 'promoted', 'final-weight': '100' })
      const stats = await load.stop()
      // at 5/25/50 % for 3 s each, then 100 %: both slots served users during the canary
      expect(stats.bySlot.green).toBeGreaterThan(0)
      expect(stats.bySlot.blue).toBeGreaterThan(0)
      expect(stats.failed).toBe(0)
    } finally {
      await load.stop()
    }
    expect(reloads(nginx)).toBe(before)
    expect(await settledSlotCounts(nginx.url, 'green')).toEqual({ green: 10 })
  })
})
