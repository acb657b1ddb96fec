import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'

async function slotOf(url: string): Promise<string> {
  const res = await fetch(url)
  await res.arrayBuffer()
  return res.headers.get('x-slot') ?? `status ${res.status}`
}

describe('lab: real services on loopback', () => {
  const lab = Lab.create()
  let app: Record<'blue' | 'green', AppSlot>
  let haproxy: HaproxyInstance
  let nginx: NginxInstance
  let prometheus: PrometheusInstance

  beforeAll(async () => {
    app = await startApp(lab)
    ;[haproxy, nginx, prometheus] = await Promise.all([
      startHaproxy(lab, {
        servers: [
          { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
          { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
        ]
      }),
      startNginx(lab, {
        upstream: `upstream app {\n  server 127.0.0.1:${app.green.port};\n}\n`
      }),
      startPrometheus(lab, {
        targets: [
          { address: `127.0.0.1:${app.blue.port}` },
          { address: `127.0.0.1:${app.green.port}` }
        ]
      })
    ])
  })
  afterAll(() => lab.stop())

  it('HAProxy routes by weight and answers its runtime API', async () => {
    expect(await slotOf(haproxy.url)).toBe('blue')
    const state = await haproxy.command('show servers state app')
    expect(state).toMatch(/blue/)
    await haproxy.command('set weight app/green 100; set weight app/blue 0')
    expect(await slotOf(haproxy.url)).toBe('green')
  })

  it('nginx proxies to the upstream include file', async () => {
    expect(await slotOf(nginx.url)).toBe('green')
  })

  it('the sample app takes faults at run time', async () => {
    await app.blue.control({ errorRate: 0.5 })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await fetch(app.blue.url)
      await res.arrayBuffer()
      statuses.push(res.status)
    }
    expect(statuses.sort()).toEqual([200, 200, 500, 500])
    await app.blue.control({ errorRate: 0, healthy: false })
    expect((await fetch(`${app.blue.url}/healthz`)).status).toBe(503)
    await app.blue.control({ healthy: true })
  })

  it('Prometheus scrapes both slots with their labels', async () => {
    await prometheus.waitForTargets()
    const body = (await prometheus.query('count by (slot) (app_info)')) as {
      data: { result: { metric: { slot: string } }[] }
    }
    expect(body.data.result.map((r) => r.metric.slot).sort()).toEqual(['blue', 'green'])
  })

  it('stops everything it started', async () => {
    const extra = Lab.create()
    const slots = await startApp(extra)
    await extra.stop()
    expect(slots.blue.process.running).toBe(false)
    await expect(fetch(slots.blue.url)).rejects.toThrow()
  })
})
