import type { Lab } from './lab.js'
import { startApp, type AppSlot } from './services/app.js'
import { startHaproxy, type HaproxyInstance } from './services/haproxy.js'
import { startPrometheus, type PrometheusInstance } from './services/prometheus.js'

export interface ServiceStack {
  app: Record<'blue' | 'green', AppSlot>
  lb: HaproxyInstance
  prometheus: PrometheusInstance
}

/**
 * The usual production shape in miniature: the sample service's two slots behind HAProxy
 * (blue live), scraped by Prometheus. Used by the canary tests, the benchmarks and the demo.
 */
export async function startServiceStack(lab: Lab): Promise<ServiceStack> {
  const app = await startApp(lab)
  const [lb, prometheus] = await Promise.all([
    startHaproxy(lab, {
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
  return { app, lb, prometheus }
}
